"""IaC pull-request gate speed: whole-process time of ``kvaudit scan`` against checkov's Key
Vault checks on the same corpus, run alternately, median ratio.

    python -m bench.iac_gate [--runs 5] [--copies 10] [--checkov PATH]

The corpus is the ARM, Bicep and Terraform examples in examples/iac (the tests' fixtures, modelled
on quickstart templates, Azure Verified Modules and the azurerm documentation), copied ``--copies`` times with the vault
and HSM names made unique per copy, so that each copy is a distinct set of resources. checkov is
installed into its own virtual environment (bench/results/checkov-venv) unless ``--checkov``
names an executable.

Each run is a whole process, timed by wall clock and by CPU (user + system of the process and
the loader processes it forks, from ``getrusage``), because on a shared machine the wall time
mostly measures the neighbours; the tools alternate so that noise hits both alike. Target:
kvaudit's median at most 0.2x checkov's (goal 0.1x).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time

from bench.common import RESULTS, ROOT, header, median

FIXTURES = ROOT / "examples" / "iac"
CORPUS = RESULTS / "iac-corpus"
#: checkov's Key Vault checks (from `checkov --list`): vaults, keys and their private endpoints.
CHECKOV_KEY_VAULT_CHECKS = [
    "CKV_AZURE_40",
    "CKV_AZURE_42",
    "CKV_AZURE_109",
    "CKV_AZURE_110",
    "CKV_AZURE_111",
    "CKV_AZURE_112",
    "CKV_AZURE_189",
    "CKV2_AZURE_32",
]
_NAME = re.compile(r"""(["'])(kv|hsm)-""")


def build_corpus(copies: int) -> int:
    """Copy the IaC fixtures ``copies`` times with unique resource names; return the file count."""
    if CORPUS.exists():
        shutil.rmtree(CORPUS)
    count = 0
    sources = [FIXTURES / "arm", FIXTURES / "bicep", FIXTURES / "terraform"]
    for i in range(copies):
        for source in sources:
            for path in sorted(source.rglob("*")):
                relative = path.relative_to(FIXTURES)
                if not path.is_file() or path.name == "plan.json":
                    continue
                target = CORPUS / f"copy{i:03d}" / relative
                target.parent.mkdir(parents=True, exist_ok=True)
                text = path.read_text(encoding="utf-8")
                target.write_text(_NAME.sub(lambda m, i=i: f"{m.group(1)}{m.group(2)}{i}-", text), encoding="utf-8")
                count += 1
    return count


def ensure_checkov(explicit: str | None) -> str:
    if explicit:
        return explicit
    venv = RESULTS / "checkov-venv"
    exe = venv / "bin" / "checkov"
    if not exe.exists():
        print("installing checkov into bench/results/checkov-venv (once) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "checkov"], check=True)
    return str(exe)


def compile_kvaudit() -> None:
    """Write kvaudit's bytecode, as ``pip install`` does for an installed package (checkov's and
    pandas' are written at install), so that an editable checkout under
    PYTHONDONTWRITEBYTECODE is not timed compiling its own source on every run."""
    import compileall

    for package in ("scanner", "rules", "reports"):
        compileall.compile_dir(str(ROOT / package), quiet=1)


def _cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed(command: list[str], **kwargs: object) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Run ``command``; return (wall seconds, CPU seconds of it and its children, the result)."""
    cpu, started = _cpu_of_children(), time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]
    return time.perf_counter() - started, _cpu_of_children() - cpu, done


def time_kvaudit() -> tuple[float, float, int]:
    out = RESULTS / "iac-kvaudit.json"
    elapsed, cpu, done = _timed(
        [
            sys.executable,
            "-m",
            "kvaudit.scanner",
            "scan",
            str(CORPUS),
            "-o",
            f"json:{out}",
            "--fail-on",
            "none",
            "--omit-passed",
        ],
        cwd=ROOT,
    )
    if done.returncode not in (0, 1):
        raise RuntimeError(f"kvaudit failed: {done.stderr[-1000:]}")
    report = json.loads(out.read_text())
    return elapsed, cpu, sum(1 for f in report["findings"] if f["status"] == "FAIL")


def time_checkov(exe: str) -> tuple[float, float, int]:
    elapsed, cpu, done = _timed(
        [
            exe,
            "-d",
            str(CORPUS),
            "--framework",
            "arm",
            "bicep",
            "terraform",
            "--check",
            ",".join(CHECKOV_KEY_VAULT_CHECKS),
            "-o",
            "json",
            "--quiet",
            "--compact",
            "--skip-download",
        ],
    )
    try:
        parsed = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"checkov output was not JSON: {done.stderr[-1000:]}") from exc
    reports = parsed if isinstance(parsed, list) else [parsed]
    failed = sum(len(r.get("results", {}).get("failed_checks", [])) for r in reports if isinstance(r, dict))
    return elapsed, cpu, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--checkov", help="checkov executable (default: install into bench/results/checkov-venv)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    files = build_corpus(args.copies)
    exe = ensure_checkov(args.checkov)
    compile_kvaudit()
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    kv_times: list[tuple[float, float]] = []
    ck_times: list[tuple[float, float]] = []
    kv_findings = ck_findings = 0
    load_before = os.getloadavg()[0]
    for run in range(args.runs):  # alternate so that machine noise hits both tools alike
        *timing, kv_findings = time_kvaudit()
        kv_times.append((timing[0], timing[1]))
        *timing, ck_findings = time_checkov(exe)
        ck_times.append((timing[0], timing[1]))
        print(
            f"run {run + 1}: kvaudit {kv_times[-1][0]:.2f} s wall / {kv_times[-1][1]:.2f} s CPU, "
            f"checkov {ck_times[-1][0]:.2f} s / {ck_times[-1][1]:.2f} s; load {os.getloadavg()[0]:.1f}",
            file=sys.stderr,
            flush=True,
        )
    header(
        "IaC gate: kvaudit scan vs checkov (Key Vault checks), whole process",
        f"{files} IaC files (ARM, Bicep, Terraform; {args.copies} copies of the fixtures) in {CORPUS}; "
        f"checkov {version} with {len(CHECKOV_KEY_VAULT_CHECKS)} Key Vault checks; {args.runs} alternating runs; "
        f"load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after",
    )
    print("command: python -m kvaudit.scanner scan CORPUS -o json:FILE --fail-on none --omit-passed")
    print("bytecode: kvaudit's compiled first, as pip compiles an installed package's (and checkov's)")
    for name, times, count in (
        ("kvaudit", kv_times, f"FAIL findings {kv_findings}"),
        ("checkov", ck_times, f"failed checks {ck_findings}"),
    ):
        print(
            f"{name}: wall median {median([t[0] for t in times]):.2f} s  CPU median {median([t[1] for t in times]):.2f} s  "
            f"runs (wall/CPU) {', '.join(f'{w:.2f}/{c:.2f}' for w, c in times)}  {count}"
        )
    for measure, index in (("wall", 0), ("CPU", 1)):
        ratio = median([t[index] for t in kv_times]) / median([t[index] for t in ck_times])
        verdict = "goal met" if ratio <= 0.1 else "target met" if ratio <= 0.2 else "NOT met"
        print(f"ratio ({measure}): kvaudit takes {ratio:.2f}x checkov's time (target <= 0.2x, goal 0.1x: {verdict})")


if __name__ == "__main__":
    main()
