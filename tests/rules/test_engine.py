"""Engine guarantees: a raising rule is isolated, nulls become UNKNOWN, failed reads demote
PASS to UNKNOWN, policy overrides apply, and fingerprints ignore line numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from kvaudit.reports.model import fingerprint
from kvaudit.rules.context import RuleContext, verdict
from kvaudit.rules.engine import evaluate
from kvaudit.rules.model import Remediation, Rule, Severity
from kvaudit.rules.registry import all_rules, get
from kvaudit.scanner.inventory import Inventory
from kvaudit.scanner.policy import parse

NOW = pd.Timestamp("2026-11-23T00:00:00Z")
FIXTURES = Path(__file__).resolve().parents[2] / "examples" / "iac"
VAULT = "/subscriptions/s/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv1"


def _results(evaluation, rule_id: str) -> list[tuple[str, str]]:
    outcome = next(o for o in evaluation.outcomes if o.rule.id == rule_id)
    return sorted(zip(outcome.results["resource_name"], outcome.results["status"], strict=True))


def _raising(ctx: RuleContext) -> pd.DataFrame:
    raise RuntimeError("boom")


BROKEN = Rule(
    id="KV-TEST-999",
    title="broken",
    severity=Severity.LOW,
    domain="test",
    resource_type="vault",
    rationale="r",
    remediation=Remediation("a", "b", "c"),
    check=_raising,
)


def test_a_raising_rule_becomes_error_and_others_still_run() -> None:
    inv = Inventory.from_records({"vaults": [{"id": VAULT, "name": "kv1", "purge_protection_enabled": False}]})
    evaluation = evaluate(inv, now=NOW, rules=[BROKEN, get("KV-REC-003")])
    broken = evaluation.outcomes[0]
    assert broken.results["status"].tolist() == ["ERROR"]
    assert broken.error == "RuntimeError: boom"
    assert _results(evaluation, "KV-REC-003") == [("kv1", "FAIL")]


def test_null_values_become_unknown_never_pass() -> None:
    inv = Inventory.from_records({"vaults": [{"id": VAULT, "name": "kv1"}]})
    evaluation = evaluate(inv, now=NOW, rules=[get("KV-REC-003"), get("KV-NET-001"), get("KV-REC-002")])
    assert _results(evaluation, "KV-REC-003") == [("kv1", "UNKNOWN")]
    assert _results(evaluation, "KV-NET-001") == [("kv1", "UNKNOWN")]
    assert _results(evaluation, "KV-REC-002") == [("kv1", "UNKNOWN")]


def test_failed_read_demotes_pass_to_unknown_and_reports_unlisted_children() -> None:
    inv = Inventory.from_records(
        {
            "vaults": [{"id": VAULT, "name": "kv1", "kind": "vault"}],
            "collection_errors": [
                {
                    "id": VAULT,
                    "vault_id": VAULT,
                    "operation": "keys.list",
                    "affects": ["keys"],
                    "status_code": 403,
                    "error": "Forbidden",
                },
                {
                    "id": VAULT,
                    "vault_id": VAULT,
                    "operation": "diagnostic_settings.list",
                    "affects": ["diagnostic_settings"],
                    "status_code": 500,
                    "error": "boom",
                },
            ],
        }
    )
    evaluation = evaluate(inv, now=NOW, rules=[get("KV-LIFE-001"), get("KV-LOG-001")])
    assert _results(evaluation, "KV-LIFE-001") == [("kv1", "UNKNOWN")]
    # No diagnostic setting was seen, but the listing failed: that absence proves nothing.
    assert _results(evaluation, "KV-LOG-001") == [("kv1", "UNKNOWN")]


def test_pass_with_failed_read_becomes_unknown() -> None:
    inv = Inventory.from_records(
        {
            "vaults": [{"id": VAULT, "name": "kv1", "kind": "vault"}],
            "diagnostic_settings": [
                {
                    "id": VAULT + "/ds/a",
                    "target_id": VAULT,
                    "name": "a",
                    "workspace_id": "/ws",
                    "logs": [{"category_group": "audit", "enabled": True}],
                }
            ],
            "collection_errors": [
                {
                    "id": VAULT,
                    "vault_id": VAULT,
                    "operation": "diagnostic_settings.list",
                    "affects": ["diagnostic_settings"],
                    "error": "truncated page",
                },
            ],
        }
    )
    evaluation = evaluate(inv, now=NOW, rules=[get("KV-LOG-001")])
    assert _results(evaluation, "KV-LOG-001") == [("kv1", "UNKNOWN")]


def test_policy_overrides_parameters_severity_and_disables() -> None:
    policy = parse(
        """
[rules.KV-REC-002]
min_retention_days = 30
severity = "critical"
[rules.KV-REC-003]
enabled = false
""",
        "policy.toml",
    )
    inv = Inventory.from_records(
        {"vaults": [{"id": VAULT, "name": "kv1", "soft_delete_enabled": True, "soft_delete_retention_days": 28}]}
    )
    evaluation = evaluate(inv, policy, now=NOW, rules=[get("KV-REC-002"), get("KV-REC-003")])
    assert [o.rule.id for o in evaluation.outcomes] == ["KV-REC-002"]
    assert evaluation.skipped == ["KV-REC-003"]
    assert evaluation.outcomes[0].severity == Severity.CRITICAL
    assert evaluation.outcomes[0].params == {"min_retention_days": 30}
    assert _results(evaluation, "KV-REC-002") == [("kv1", "FAIL")]


def test_policy_rejects_unknown_rules_and_parameters() -> None:
    from kvaudit.scanner.errors import PolicyError

    catalogue = {r.id: {p.name for p in r.params} for r in all_rules()}
    with pytest.raises(PolicyError, match="unknown rule id 'KV-NOPE-001'"):
        parse("[rules.KV-NOPE-001]\nx = 1\n", "p.toml").validate(catalogue)
    with pytest.raises(PolicyError, match="rule KV-REC-002 has no parameter 'min_days'"):
        parse("[rules.KV-REC-002]\nmin_days = 1\n", "p.toml").validate(catalogue)
    with pytest.raises(PolicyError, match="invalid TOML"):
        parse("[rules\n", "p.toml")


def test_fingerprint_is_case_insensitive_and_ignores_location() -> None:
    assert fingerprint("KV-REC-003", VAULT.upper()) == fingerprint("KV-REC-003", VAULT + "/")
    assert fingerprint("KV-REC-003", VAULT) != fingerprint("KV-REC-001", VAULT)


def test_verdict_maps_true_false_null_and_not_applicable() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c", "d"], "name": ["a", "b", "c", "d"]})
    fail = pd.Series([True, False, None, True], dtype="boolean")
    out = verdict(frame, fail=fail, applicable=pd.Series([True, True, True, False]), evidence=[], resource_type="t")
    assert out["status"].tolist() == ["FAIL", "PASS", "UNKNOWN", "NOT_APPLICABLE"]


def test_applicability_computed_from_unknown_data_is_unknown() -> None:
    frame = pd.DataFrame({"id": ["a", "b", "c"], "name": ["a", "b", "c"]})
    fail = pd.Series([True, False, None], dtype="boolean")
    out = verdict(
        frame, fail=fail, applicable=pd.Series([None, None, None], dtype="boolean"), evidence=[], resource_type="t"
    )
    assert out["status"].tolist() == ["UNKNOWN", "UNKNOWN", "UNKNOWN"]


def _version_count(ctx: RuleContext) -> pd.DataFrame:
    """Fails keys with more than one version: its verdict rests on key_versions, which IaC cannot see."""
    keys, versions = ctx.keys, ctx.key_versions
    counts = versions["key_id"].value_counts()
    return verdict(keys, fail=keys["id"].map(counts).fillna(0).gt(1).astype("boolean"), evidence=[], resource_type="k")


VERSION_COUNT = Rule(
    id="KV-TEST-998",
    title="versions",
    severity=Severity.LOW,
    domain="test",
    resource_type="key",
    rationale="r",
    remediation=Remediation("a", "b", "c"),
    check=_version_count,
)


def test_a_column_the_source_cannot_observe_makes_the_verdict_not_applicable() -> None:
    """From the field table: IaC declares no key versions; a live key with none is judged."""
    inv = Inventory.from_records(
        {
            "vaults": [{"id": VAULT, "name": "kv1", "kind": "vault"}],
            "keys": [
                {"id": VAULT + "/keys/live", "vault_id": VAULT, "name": "live", "source": "azure"},
                {"id": VAULT + "/keys/iac", "vault_id": VAULT, "name": "iac", "source": "terraform"},
            ],
        }
    )
    outcome = evaluate(inv, now=NOW, rules=[VERSION_COUNT]).outcomes[0]
    assert ("key_versions", "key_id") in outcome.reads.columns
    assert _results(evaluate(inv, now=NOW, rules=[VERSION_COUNT]), "KV-TEST-998") == [
        ("iac", "NOT_APPLICABLE"),
        ("live", "PASS"),
    ]


def test_a_failed_listing_at_a_subscription_reaches_every_vault_in_it() -> None:
    other = "/subscriptions/t/resourcegroups/rg/providers/microsoft.keyvault/vaults/kv2"
    inv = Inventory.from_records(
        {
            "vaults": [
                {"id": VAULT, "name": "kv1", "kind": "vault", "purge_protection_enabled": True},
                {"id": other, "name": "kv2", "kind": "vault", "purge_protection_enabled": False},
            ],
            "collection_errors": [
                {"id": "/subscriptions/s", "operation": "vaults.list", "affects": ["vaults"], "error": "HTTP 429"},
                {"id": "/subscriptions/t", "operation": "keys.list", "affects": ["keys"], "error": "HTTP 403"},
            ],
        }
    )
    # kv1's own row was read, but the listing it came from was cut short: its PASS is unknown
    # and the subscription gets a result of its own; kv2's FAIL does not depend on its keys.
    assert _results(evaluate(inv, now=NOW, rules=[get("KV-REC-003")]), "KV-REC-003") == [
        ("kv1", "UNKNOWN"),
        ("kv2", "FAIL"),
        ("s", "UNKNOWN"),
    ]


@pytest.mark.parametrize(
    "fixture",
    sorted(
        str(p.relative_to(FIXTURES))
        for kind in ("arm", "bicep", "terraform")
        for p in (FIXTURES / kind).iterdir()
        if p.is_dir()
    ),
)
def test_no_rule_raises_on_any_iac_fixture(fixture: str) -> None:
    """IaC inventories are sparse (keys without versions, no usage, no principals): every rule
    must still evaluate, or the gate would report an incomplete scan."""
    from kvaudit.scanner.sources import load_sources

    loaded = load_sources([str(FIXTURES / fixture)], FIXTURES.parent.parent)
    evaluation = evaluate(loaded.inventory, now=NOW)
    assert [(o.rule.id, o.error) for o in evaluation.outcomes if o.error] == []


def _through_inventory(ctx: RuleContext) -> pd.DataFrame:
    """Reads a table through ``ctx.inventory.tables`` and a column of a frame derived from it."""
    endpoints = ctx.inventory.tables["private_endpoints"]
    approved = endpoints[endpoints["connection_state"].eq("Approved").fillna(False)]
    v = ctx.vaults
    return verdict(v, fail=~v["id"].isin(set(approved["target_id"])), evidence=[], resource_type="v")


def test_reads_are_recorded_however_a_rule_reaches_a_table() -> None:
    rule = Rule(
        id="KV-TEST-997",
        title="t",
        severity=Severity.LOW,
        domain="test",
        resource_type="vault",
        rationale="r",
        remediation=Remediation("a", "b", "c"),
        check=_through_inventory,
    )
    inv = Inventory.from_records({"vaults": [{"id": VAULT, "name": "kv1"}]})
    reads = evaluate(inv, now=NOW, rules=[rule]).outcomes[0].reads
    assert reads.tables == {"private_endpoints", "vaults"}
    assert {("private_endpoints", "connection_state"), ("private_endpoints", "target_id"), ("vaults", "id")} <= (
        reads.columns
    )
