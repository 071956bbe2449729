"""IaC pull-request gate speed: whole-process time of ``kvaudit scan`` against checkov's Key
Vault checks on the same corpus, run alternately, median ratio.

    python -m bench.iac_gate [--runs 5] [--copies 10] [--checkov PATH]

The corpus is the ARM, Bicep and Terraform examples in examples/iac (the tests' fixtures, modelled
on quickstart templates, Azure Verified Modules and the azurerm documentation), copied ``--copies`` times with the vault
and HSM names made unique per copy, so that each copy is a distinct set of resources. checkov is
installed into its own virtual environment (bench/results/checkov-venv) unless ``--checkov``
names an executable. Target: kvaudit at least 5x faster.
"""

from __future__ import annotations

import argparse
import json
import re
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


def time_kvaudit() -> tuple[float, int]:
    out = RESULTS / "iac-kvaudit.json"
    started = time.perf_counter()
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "scanner",
            "scan",
            str(CORPUS),
            "-o",
            f"json:{out}",
            "--fail-on",
            "none",
            "--omit-passed",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if done.returncode not in (0, 1):
        raise RuntimeError(f"kvaudit failed: {done.stderr[-1000:]}")
    report = json.loads(out.read_text())
    return elapsed, sum(1 for f in report["findings"] if f["status"] == "FAIL")


def time_checkov(exe: str) -> tuple[float, int]:
    started = time.perf_counter()
    done = subprocess.run(
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
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    try:
        parsed = json.loads(done.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(f"checkov output was not JSON: {done.stderr[-1000:]}") from exc
    reports = parsed if isinstance(parsed, list) else [parsed]
    failed = sum(len(r.get("results", {}).get("failed_checks", [])) for r in reports if isinstance(r, dict))
    return elapsed, failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--copies", type=int, default=10)
    parser.add_argument("--checkov", help="checkov executable (default: install into bench/results/checkov-venv)")
    args = parser.parse_args()
    RESULTS.mkdir(parents=True, exist_ok=True)
    files = build_corpus(args.copies)
    exe = ensure_checkov(args.checkov)
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.strip()
    kv_times, ck_times = [], []
    kv_findings = ck_findings = 0
    for _ in range(args.runs):  # alternate so that machine noise hits both tools alike
        elapsed, kv_findings = time_kvaudit()
        kv_times.append(elapsed)
        elapsed, ck_findings = time_checkov(exe)
        ck_times.append(elapsed)
    header(
        "IaC gate: kvaudit scan vs checkov (Key Vault checks), whole process",
        f"{files} IaC files (ARM, Bicep, Terraform; {args.copies} copies of the fixtures) in {CORPUS}; "
        f"checkov {version} with {len(CHECKOV_KEY_VAULT_CHECKS)} Key Vault checks; {args.runs} alternating runs",
    )
    kv, ck = median(kv_times), median(ck_times)
    print(f"kvaudit: median {kv:.2f} s  runs {', '.join(f'{t:.2f}' for t in kv_times)}  FAIL findings {kv_findings}")
    print(f"checkov: median {ck:.2f} s  runs {', '.join(f'{t:.2f}' for t in ck_times)}  failed checks {ck_findings}")
    ratio = ck / kv
    print(f"ratio:   kvaudit is {ratio:.1f}x faster (target >= 5x: {'met' if ratio >= 5 else 'NOT met'})")


if __name__ == "__main__":
    main()
