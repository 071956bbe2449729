"""The fixed report every renderer golden is made from, and the helper that regenerates goldens.

The report is the demo estate evaluated at a fixed time with fixed scan times, then given the
things the demo lacks so that every renderer branch shows in a golden: IaC locations (one of them
inside a module), waivers (active and expired), a baseline entry, an inline suppression, an
UNKNOWN with a coverage gap, and a resource named with HTML/script injection. It is sealed with its integrity digest.

The report is frozen as tests/golden/report.json; the other goldens are rendered from it.
Regenerate (re-evaluating the demo) after an intended change, then review the diff:

    python -m tests.reports.fixtures
"""

from __future__ import annotations

import copy
import json
from datetime import UTC
from pathlib import Path
from typing import Any

import pandas as pd

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
NOW = pd.Timestamp("2025-06-01T00:00:00Z")
HOSTILE = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def demo_report(now: pd.Timestamp = NOW) -> dict[str, Any]:
    """The demo estate's report, reproducible byte for byte (paths and times fixed)."""
    from kvaudit.reports.model import build_report
    from kvaudit.rules.engine import evaluate
    from kvaudit.scanner.demo import demo_inventory, demo_policy_path
    from kvaudit.scanner.policy import load

    evaluation = evaluate(demo_inventory(), load(demo_policy_path()), now=now)
    started = now.to_pydatetime().astimezone(UTC)
    report = build_report(demo_inventory(), evaluation, started, started.replace(second=7))
    report["scan"]["policy"]["origin"] = "scanner/demo/policy.toml"
    return report


def _first(report: dict[str, Any], status: str, skip: int = 0) -> dict[str, Any]:
    return [f for f in report["findings"] if f["status"] == status][skip]


def golden_report() -> dict[str, Any]:
    """The frozen input of every golden: tests/golden/report.json.

    Freezing it (rather than re-evaluating the demo in every test run) keeps the renderer
    goldens about rendering: a rule change elsewhere changes them only when they are
    regenerated on purpose.
    """
    return json.loads((GOLDEN / "report.json").read_text(encoding="utf-8"))


def build_golden_report() -> dict[str, Any]:
    """The demo report plus the cases the demo lacks, sealed (what regeneration freezes)."""
    from kvaudit.reports.integrity import seal
    from kvaudit.reports.posture import refresh

    report = demo_report()
    hostile = _first(report, "FAIL", 0)
    hostile["resource"]["name"] = HOSTILE
    hostile["message"] = f"{HOSTILE}: {hostile['message']} | pipe *bold* @org/team =1+2"
    hostile["location"] = {"file": "infra/main.bicep", "line": 12}

    waived = _first(report, "FAIL", 1)
    waived["suppression"] = {
        "kind": "waiver",
        "active": True,
        "id": "W-001",
        "justification": "Legacy vault decommissioned in Q3; <b>tracked</b> in CHG-1234",
        "approver": "ciso@northwind.example",
        "expires": "2025-09-30",
        "expired": False,
        "file": "waivers.toml",
        "line": 3,
    }
    lapsed = _first(report, "FAIL", 2)
    lapsed["suppression"] = {
        "kind": "waiver",
        "active": False,
        "id": "W-002",
        "justification": "Temporary exception during migration",
        "approver": "secops@northwind.example",
        "expires": "2025-05-01",
        "expired": True,
        "file": "waivers.toml",
        "line": 9,
    }
    # A resource declared in a nested Terraform module: shown at the outermost call in the root.
    lapsed["location"] = {
        "file": "infra/main.tf",
        "line": 20,
        "module": 'module.kv.module.keys["cmk"]',
        "declared": {"file": "infra/modules/kv/keys/main.tf", "line": 7},
    }
    baselined = _first(report, "FAIL", 3)
    baselined["suppression"] = {"kind": "baseline", "active": True, "expired": False}
    inline = _first(report, "FAIL", 4)
    inline["suppression"] = {
        "kind": "inline",
        "active": True,
        "justification": "public endpoint required by partner integration",
        "expired": False,
        "file": "infra/network.tf",
        "line": 40,
    }
    inline["location"] = {"file": "infra/network.tf", "line": 41}

    unknown = _first(report, "PASS", 0)
    unknown["status"] = "UNKNOWN"
    unknown["evidence"]["coverage_gap"] = "keys list denied (403)"
    unknown["message"] = f"{unknown['resource']['name']}: not evaluated because data could not be read"
    report["summary"]["by_status"]["PASS"] -= 1
    report["summary"]["by_status"]["UNKNOWN"] += 1
    report["coverage"]["complete"] = False
    report["coverage"]["collection_errors"].append(
        {
            "resource_id": unknown["resource"]["id"],
            "vault_id": unknown["resource"]["id"],
            "operation": "keys.list",
            "status_code": 403,
            "error": "ForbiddenByRbac: caller lacks Key Vault Reader",
            "affects": ["keys", "key_versions"],
            "source": "azure",
        }
    )
    report["exceptions"] = {
        "suppressed": {"baseline": 1, "waiver": 1, "inline": 1},
        "baseline": {"file": "kvaudit-baseline.json", "created": "2025-05-01", "entries": 3, "matched": 1},
        "diff_base": None,
        "waivers": [
            {
                "id": "W-001",
                "file": "waivers.toml",
                "line": 3,
                "rule_id": waived["rule_id"],
                "resource": waived["resource"]["id"],
                "fingerprint": None,
                "justification": waived["suppression"]["justification"],
                "approver": "ciso@northwind.example",
                "expires": "2025-09-30",
                "expired": False,
                "matched": 1,
            },
            {
                "id": "W-002",
                "file": "waivers.toml",
                "line": 9,
                "rule_id": lapsed["rule_id"],
                "resource": None,
                "fingerprint": lapsed["fingerprint"],
                "justification": "Temporary exception during migration",
                "approver": "secops@northwind.example",
                "expires": "2025-05-01",
                "expired": True,
                "matched": 1,
            },
        ],
        "inline": [
            {
                "rule_id": inline["rule_id"],
                "resource_id": inline["resource"]["id"],
                "reason": "public endpoint required by partner integration",
                "file": "infra/network.tf",
                "line": 40,
                "honoured": True,
                "matched": 1,
            }
        ],
        "notices": ["waiver W-002 expired on 2025-05-01 and no longer suppresses 1 finding"],
    }
    return seal(refresh(report))


def later_report(report: dict[str, Any]) -> dict[str, Any]:
    """A next run of ``report``: the first failing finding fixed, one new finding, a day later."""
    from kvaudit.reports.integrity import seal
    from kvaudit.reports.model import fingerprint
    from kvaudit.reports.posture import refresh

    later = copy.deepcopy(report)
    later.pop("integrity", None)
    for key in ("started", "finished", "evaluated_at"):
        later["scan"][key] = later["scan"][key].replace("2025-06-01", "2025-06-02")
    fixed = _first(later, "FAIL", 5)
    fixed["status"] = "PASS"
    fixed["message"] = f"{fixed['resource']['name']} complies"
    new = copy.deepcopy(_first(later, "FAIL", 6))
    new["resource"] = {**new["resource"], "id": new["resource"]["id"] + "-new", "name": "kv-new-vault"}
    new["fingerprint"] = fingerprint(new["rule_id"], new["resource"]["id"])
    new["message"] = "kv-new-vault: " + new["title"]
    later["findings"].append(new)
    return seal(refresh(later))


def golden_outputs(report: dict[str, Any] | None = None) -> dict[str, str]:
    """Golden file name -> the text it must hold (rendered from the frozen report by default)."""
    from kvaudit.reports.diff import diff_reports
    from kvaudit.reports.renderers import RENDERERS, get_renderer
    from kvaudit.reports.renderers import drift as drift_renderers

    report = golden_report() if report is None else report
    suffix = {
        "json": "report.json",
        "html": "report.html",
        "sarif": "report.sarif",
        "junit": "report.junit.xml",
        "markdown": "report.md",
        "csv": "report.csv",
        "csv-controls": "report-controls.csv",
    }
    outputs = {suffix[name]: get_renderer(name)(report) for name in RENDERERS}
    drift = diff_reports(report, later_report(report), "run-1.json", "run-2.json")
    outputs["drift.json"] = drift_renderers.render_json(drift)
    outputs["drift.md"] = drift_renderers.render_markdown(drift)
    outputs["drift.html"] = drift_renderers.render_html(drift)
    return outputs


def regenerate() -> None:
    GOLDEN.mkdir(exist_ok=True)
    for name, text in golden_outputs(build_golden_report()).items():
        (GOLDEN / name).write_text(text, encoding="utf-8", newline="")
        print(f"wrote {GOLDEN / name}")


if __name__ == "__main__":
    regenerate()
