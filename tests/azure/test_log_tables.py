"""Key usage follows each diagnostic setting's destination type: AzureDiagnostics or AZKVAuditLogs.

A setting with ``logAnalyticsDestinationType: Dedicated`` sends a vault's (or a Managed HSM's)
audit events to the resource-specific ``AZKVAuditLogs`` table. Reading only ``AzureDiagnostics``
reported such a vault silent (KV-LOG-003 FAIL) and lost its per-key usage.
"""

from __future__ import annotations

import copy
from typing import Any

import pandas as pd
import pytest

from kvaudit.rules.engine import evaluate
from kvaudit.rules.registry import get
from kvaudit.scanner.azure.usage import LOG_TABLES, log_table, query
from tests.azure.conftest import Scanned, scan
from tests.fakeazure import FakeAzure, Faults, build_estate
from tests.fakeazure.build_estate import WORKSPACE_CUSTOMER_ID

DEDICATED = ("kv-prod-payments", "mhsm-prod-signing")


def _dedicated(estate: dict[str, Any]) -> dict[str, Any]:
    """The default estate with the payments vault and the signing HSM sending to AZKVAuditLogs."""
    changed = copy.deepcopy(estate)
    ids = {r["name"]: r["id"].lower() for r in changed["resources"] if r["name"] in DEDICATED}
    for rid in ids.values():
        for setting in changed["diagnosticSettings"][rid]:
            setting["properties"]["logAnalyticsDestinationType"] = "Dedicated"
    logs = changed["logAnalytics"][WORKSPACE_CUSTOMER_ID]
    moved = [r for r in logs["AzureDiagnostics"] if r["ResourceId"].lower() in ids.values()]
    logs["AzureDiagnostics"] = [r for r in logs["AzureDiagnostics"] if r not in moved]
    logs["AZKVAuditLogs"] = build_estate.resource_specific(moved)
    return changed


def _usage(scanned: Scanned) -> dict[str, tuple[Any, ...]]:
    df = scanned.inventory.tables["key_usage"].astype(object)
    out = {}
    for row in df.where(pd.notna(df), None).to_dict(orient="records"):
        name = row["id"].split("/providers/microsoft.keyvault/")[1]
        out[name] = (row["event_count"], row["operations"], row["last_used"], row["last_event"])
    return out


@pytest.fixture(scope="module")
def estate() -> dict[str, Any]:
    return build_estate.default()


def test_destination_type_picks_the_table() -> None:
    assert log_table({"properties": {"logAnalyticsDestinationType": "Dedicated"}}) == "AZKVAuditLogs"
    assert log_table({"properties": {"logAnalyticsDestinationType": None}}) == "AzureDiagnostics"
    assert log_table({"properties": {"logAnalyticsDestinationType": "AzureDiagnostics"}}) == "AzureDiagnostics"
    assert "AZKVAuditLogs" not in query({"AzureDiagnostics"})
    assert query(set(LOG_TABLES)).startswith("union isfuzzy=true")
    assert "ResourceId = _ResourceId" in query({"AZKVAuditLogs"}) and "RequestUri" in query({"AZKVAuditLogs"})


def test_dedicated_settings_give_the_same_usage(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeAzure(estate, faults=Faults()) as fake:
        shared = scan(fake, monkeypatch)
    with FakeAzure(_dedicated(estate), faults=Faults()) as fake:
        dedicated = scan(fake, monkeypatch)
        posts = [r for r in fake.requests if r.method == "POST" and r.path.startswith("/v1/")]
    assert _usage(dedicated) == _usage(shared)
    got = _usage(dedicated)
    assert got["vaults/kv-prod-payments/keys/payments-rsa"][:2] == (6, ["KeyUnwrap", "KeyWrap"])
    assert got["managedhsms/mhsm-prod-signing/keys/bootstrap-signer"][:2] == (5, ["KeyGet", "KeySign"])
    assert got["managedhsms/mhsm-prod-signing"][0] == 5
    # one query for the workspace, reading both tables because its vaults use both
    assert len(posts) == 1
    sent = posts[0].body.decode()
    assert "AZKVAuditLogs" in sent and "AzureDiagnostics" in sent
    # KV-LOG-003 (logs configured, no recent event) passes for the dedicated vault as before
    at = pd.Timestamp.now(tz="UTC")
    for scanned in (shared, dedicated):
        results = evaluate(scanned.inventory, now=at, rules=[get("KV-LOG-003")]).outcomes[0].results
        status = dict(zip(results["resource_id"].str.rsplit("/", n=1).str[-1], results["status"], strict=True))
        assert (status["kv-prod-payments"], status["mhsm-prod-signing"]) == ("PASS", "PASS")


def test_events_in_the_other_table_are_not_counted(estate: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A Dedicated setting's vault is read from AZKVAuditLogs only: AzureDiagnostics rows that
    name it (sent there by some other route) are not its audit trail through this setting."""
    changed = copy.deepcopy(estate)
    pay = next(r["id"].lower() for r in changed["resources"] if r["name"] == "kv-prod-payments")
    for setting in changed["diagnosticSettings"][pay]:
        setting["properties"]["logAnalyticsDestinationType"] = "Dedicated"
    with FakeAzure(changed, faults=Faults()) as fake:
        scanned = scan(fake, monkeypatch)
    got = _usage(scanned)
    assert got["vaults/kv-prod-payments"][:2] == (0, None)
    assert "vaults/kv-prod-payments/keys/payments-rsa" not in got
    assert got["managedhsms/mhsm-prod-signing/keys/bootstrap-signer"][0] == 5  # still AzureDiagnostics
