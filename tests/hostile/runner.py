"""Scan one hostile case beside one good, misconfigured file, as a user would, and measure it.

Each case is written into its own directory as ``bad/`` (plus anything it needs outside the
tree), next to ``good/`` holding one misconfigured vault of the same language. The CLI runs as
a subprocess; ``os.wait4`` gives that child's own peak RSS, so the memory figure is per case.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.conftest import REPO

NOW = "2026-11-23T00:00:00Z"
#: What any one case may cost (the evaluation budget is 10 s per file; memory well under 1.5 GB).
MAX_SECONDS = 45.0
MAX_RSS_MB = 1536.0
HANG_SECONDS = 90.0

ARM_SCHEMA = "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#"

GOOD: dict[str, dict[str, str]] = {
    "arm": {
        "good/vault.json": json.dumps(
            {
                "$schema": ARM_SCHEMA,
                "contentVersion": "1.0.0.0",
                "resources": [
                    {
                        "type": "Microsoft.KeyVault/vaults",
                        "apiVersion": "2023-07-01",
                        "name": "kv-good",
                        "location": "westeurope",
                        "properties": {
                            "tenantId": "00000000-0000-0000-0000-000000000001",
                            "sku": {"family": "A", "name": "standard"},
                            "softDeleteRetentionInDays": 7,
                            "enableRbacAuthorization": True,
                            "publicNetworkAccess": "Enabled",
                        },
                    }
                ],
            },
            indent=1,
        )
    },
    "bicep": {
        "good/vault.bicep": (
            "resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {\n"
            "  name: 'kv-good'\n"
            "  location: 'westeurope'\n"
            "  properties: {\n"
            "    tenantId: '00000000-0000-0000-0000-000000000001'\n"
            "    sku: { family: 'A', name: 'standard' }\n"
            "    softDeleteRetentionInDays: 7\n"
            "    enableRbacAuthorization: true\n"
            "    publicNetworkAccess: 'Enabled'\n"
            "  }\n"
            "}\n"
        )
    },
    "terraform": {
        "good/main.tf": (
            'resource "azurerm_key_vault" "good" {\n'
            '  name                       = "kv-good"\n'
            '  location                   = "westeurope"\n'
            '  resource_group_name        = "rg"\n'
            '  tenant_id                  = "00000000-0000-0000-0000-000000000001"\n'
            '  sku_name                   = "standard"\n'
            "  soft_delete_retention_days = 7\n"
            "  enable_rbac_authorization  = true\n"
            "}\n"
        )
    },
}


@dataclass(frozen=True)
class Special:
    """A file-system object that is not a plain file: fifo, socket, symlink (to ``target``)."""

    kind: str  # fifo | socket | symlink | big-json
    target: str = ""  # the symlink's target, or the size of a big-json file


@dataclass
class Case:
    """One hostile input of one class in the issue's list."""

    klass: str
    name: str
    good: str  # arm | bicep | terraform: the language of the good file beside it
    files: dict[str, str | bytes | Special]
    args: list[str] | None = None  # SOURCE arguments relative to the case directory
    input_error: bool = False  # an input error must be reported (exit 2 or 3)
    fatal: bool = False  # a configuration error ends the scan before any report (exit 2)
    policy: str | None = None
    formats: tuple[str, ...] = ()  # extra outputs to write and check (markdown, csv, junit, sarif)
    check: Callable[[Outcome], None] | None = None
    env: dict[str, str] = field(default_factory=dict)


@dataclass
class Outcome:
    case: Case
    directory: Path
    returncode: int | None
    seconds: float
    rss_mb: float
    stdout: str
    stderr: str
    report: dict[str, Any] | None
    outputs: dict[str, str]

    def findings(self, name: str) -> set[tuple[str, str]]:
        """(rule id, status) of every finding on resources named ``name``."""
        if self.report is None:
            return set()
        return {
            (f["rule_id"], f["status"]) for f in self.report["findings"] if (f["resource"].get("name") or "") == name
        }

    def failing(self, name: str) -> set[str]:
        return {rule for rule, status in self.findings(name) if status == "FAIL"}


def _write(directory: Path, files: dict[str, str | bytes | Special]) -> list[socket.socket]:
    keep: list[socket.socket] = []
    for rel, content in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, Special):
            if content.kind == "fifo":
                os.mkfifo(path)
            elif content.kind == "socket":
                sock = socket.socket(socket.AF_UNIX)
                sock.bind(str(path))
                keep.append(sock)
            elif content.kind == "symlink":
                os.symlink(content.target, path)
            elif content.kind == "big-json":  # written in chunks: the runner itself stays small
                with open(path, "wb") as handle:
                    handle.write(b'{"data": [')
                    chunk = b"1234567890," * 100_000
                    for _ in range(int(content.target) // len(chunk)):
                        handle.write(chunk)
                    handle.write(b"0]}")
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return keep


def run(case: Case, base: Path) -> Outcome:
    """Build the case's tree under ``base`` and scan it; never raises for a misbehaving scan."""
    directory = base / re.sub(r"[^A-Za-z0-9_.-]", "_", f"{case.klass}-{case.name}")
    directory.mkdir(parents=True)
    sockets = _write(directory, {**GOOD[case.good], **case.files})
    args = ["scan", "good", *(case.args if case.args is not None else ["bad"]), "--now", NOW]
    args += ["-o", "json:out/report.json"]
    for fmt in case.formats:
        args += ["-o", f"{fmt}:out/report.{fmt}"]
    if case.policy:
        args += ["--policy", case.policy]
    env = {**os.environ, "PYTHONPATH": str(REPO), **case.env}
    env.pop("KVAUDIT_DEBUG", None)
    with open(directory / "stdout.txt", "wb") as out, open(directory / "stderr.txt", "wb") as err:
        started = time.monotonic()
        child = subprocess.Popen(
            [sys.executable, "-m", "kvaudit.scanner", *args],
            cwd=directory,
            env=env,
            stdout=out,
            stderr=err,
            stdin=subprocess.DEVNULL,
        )
        returncode, rss_kb = _wait(child)
        seconds = time.monotonic() - started
    for sock in sockets:
        sock.close()
    report_path = directory / "out" / "report.json"
    report = json.loads(report_path.read_text(encoding="utf-8")) if report_path.exists() else None
    outputs = {
        fmt: (directory / "out" / f"report.{fmt}").read_text(encoding="utf-8")
        for fmt in case.formats
        if (directory / "out" / f"report.{fmt}").exists()
    }
    return Outcome(
        case,
        directory,
        returncode,
        seconds,
        rss_kb / 1024,
        (directory / "stdout.txt").read_text(encoding="utf-8", errors="replace"),
        (directory / "stderr.txt").read_text(encoding="utf-8", errors="replace"),
        report,
        outputs,
    )


def _wait(child: subprocess.Popen[bytes]) -> tuple[int | None, float]:
    """(exit code or None on a hang, peak RSS in KiB) of the child alone."""
    deadline = time.monotonic() + HANG_SECONDS
    while time.monotonic() < deadline:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            child.returncode = os.waitstatus_to_exitcode(status)
            return child.returncode, float(usage.ru_maxrss)
        time.sleep(0.02)
    child.kill()
    _, _, usage = os.wait4(child.pid, 0)
    return None, float(usage.ru_maxrss)


_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200b-\u200d\ufeff]")


def problems(outcome: Outcome, baseline: set[tuple[str, str]]) -> list[str]:
    """Everything wrong with one outcome (empty when the scan behaved)."""
    case = outcome.case
    found: list[str] = []
    code = outcome.returncode
    if code is None:
        return [f"hang: killed after {HANG_SECONDS:g} s"]
    if code not in (0, 1, 2, 3):
        found.append(f"exit code {code}")
    if "Traceback" in outcome.stderr:
        found.append("traceback on stderr")
    lines = outcome.stderr.splitlines()
    stray = [line for line in lines if not line.startswith("kvaudit: ")]
    if stray:
        found.append(f"stderr line not from kvaudit (an error split over lines?): {stray[0][:80]!r}")
    if _CONTROL.search(outcome.stderr):
        found.append("control, bidi or zero-width character on stderr")
    errors = [line for line in lines if line.startswith("kvaudit: error:")]
    if (case.input_error or case.fatal) and not errors:
        found.append("no error reported")
    if (case.input_error or case.fatal) and code not in (2, 3):
        found.append(f"exit {code} although an input error occurred")
    if errors and code == 1:
        found.append("exit 1 although an input error occurred")
    if not case.fatal and outcome.findings("kv-good") != baseline:
        found.append("the good file's findings changed")
    if outcome.seconds > MAX_SECONDS:
        found.append(f"took {outcome.seconds:.1f} s")
    if outcome.rss_mb > MAX_RSS_MB:
        found.append(f"peak memory {outcome.rss_mb:.0f} MB")
    if case.check is not None and not found:
        try:
            case.check(outcome)
        except AssertionError as exc:
            found.append(f"check failed: {exc}")
    return found
