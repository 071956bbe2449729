"""``python -m kvaudit.scanner`` is the same as the ``kvaudit`` command."""

from kvaudit.scanner.cli import main

raise SystemExit(main())
