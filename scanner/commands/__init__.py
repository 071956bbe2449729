"""Subcommands that live in their own modules (see scanner.cli.EXTRA_COMMANDS)."""
