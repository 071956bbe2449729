"""``python -m kvaudit.scanner`` is the same as the ``kvaudit`` command."""

from kvaudit.scanner.cli import run

run()
