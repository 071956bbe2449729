"""A progress bar on stderr for interactive runs only.

A nightly job's log must not fill with carriage-return noise, so the bar appears only when
stderr is a terminal and no CI variable is set (or when the caller asks explicitly).
"""

from __future__ import annotations

import os
import sys
from typing import Any

_CI_VARS = ("CI", "TF_BUILD", "GITHUB_ACTIONS", "GITLAB_CI", "BUILD_BUILDID", "JENKINS_URL")


def wanted(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return sys.stderr.isatty() and not any(os.environ.get(v) for v in _CI_VARS)


class Progress:
    """Counts vaults done; a no-op unless enabled."""

    def __init__(self, enabled: bool) -> None:
        self._bar: Any = None
        self._task: Any = None
        if enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )

    def start(self, total: int) -> None:
        if self._bar is not None:
            self._bar.start()
            self._task = self._bar.add_task("scanning vaults", total=total)

    def advance(self) -> None:
        if self._bar is not None:
            self._bar.advance(self._task)

    def stop(self) -> None:
        if self._bar is not None:
            self._bar.stop()
