"""``python -m scanner`` is the same as the ``kvaudit`` command."""

from scanner.cli import main

raise SystemExit(main())
