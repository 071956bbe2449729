"""Messages written for people: null evidence reads as not observed, UNKNOWN names what is
missing, and times read as a person writes them."""

from __future__ import annotations

import pandas as pd

from kvaudit.reports.messages import format_message, human_time, unknown_message
from tests.reports.fixtures import demo_report


def test_null_reads_as_not_observed_and_specs_give_nulls_a_meaning() -> None:
    values = {"name": "k1", "curve": None, "sizes": None, "ops": [], "settings": ["a", "b"], "n": pd.NA}
    assert format_message("{name} uses curve {curve}", values) == "k1 uses curve unknown (curve not observed)"
    assert format_message("{name} is RSA {curve:omit} 3072", values) == "k1 is RSA 3072"
    assert format_message("sizes {sizes:any}; ops {ops:none}", values) == "sizes any; ops none"
    assert format_message("({settings:none}) {n}", values) == "(a, b) unknown (n not observed)"
    assert format_message("{missing}", values) == "unknown (missing not observed)"
    assert format_message("{ops}", values) == "none"


def test_times_read_as_people_write_them() -> None:
    assert human_time(pd.Timestamp("2026-11-23T00:00:07.123456+00:00")) == "2026-11-23 00:00 UTC"
    assert human_time("2026-11-23T01:30:00+01:00") == "2026-11-23 00:30 UTC"
    assert human_time("2026-11-23T00:00:07.5+00:00", seconds=True) == "2026-11-23 00:00:07 UTC"
    values = {"expires": pd.Timestamp("2026-12-31T00:00:00Z")}
    assert format_message("expires {expires}", values) == "expires 2026-12-31 00:00 UTC"


def test_unknown_names_the_missing_values() -> None:
    assert unknown_message("kv1", None, {}, ["soft_delete_enabled"]) == (
        "kv1: could not be determined because soft_delete_enabled was not observed"
    )
    assert unknown_message("kv1", None, {}, ["a", "b", "c"]) == (
        "kv1: could not be determined because a, b and c were not observed"
    )
    assert unknown_message("kv1", "{resource_name}: no usage data", {"resource_name": "kv1"}, ["last_event"]) == (
        "kv1: no usage data (last_event not observed)"
    )


def test_demo_messages_read_well() -> None:
    by_key = {(f["rule_id"], f["resource"]["name"]): f["message"] for f in demo_report()["findings"]}
    assert by_key[("KV-KEY-002", "kv-nw-legacy/bootstrap-old")] == (
        "kv-nw-legacy/bootstrap-old is RSA 3072, but its profile ed25519-signer allows key types OKP-HSM; "
        "curves Ed25519; sizes any. Fix: az keyvault key create --hsm-name <hsm> --name <key> --kty OKP-HSM "
        "--curve Ed25519 (profile ed25519-signer)"
    )
    assert by_key[("KV-LOG-001", "kv-nw-legacy")] == (
        "kv-nw-legacy has no diagnostic setting that sends the audit category to a destination "
        "(settings found: metrics-only)"
    )
    assert by_key[("KV-LOG-001", "hsm-nw-dr")] == (
        "hsm-nw-dr has no diagnostic setting that sends the audit category to a destination (settings found: none)"
    )
    assert by_key[("KV-LIFE-004", "kv-nw-legacy/billing-rsa")] == (
        "kv-nw-legacy/billing-rsa has no rotation policy that rotates (actions: none)"
    )
    assert (
        by_key[("KV-LIFE-001", "kv-nw-legacy/bootstrap-old")]
        == "kv-nw-legacy/bootstrap-old expires 2026-12-31 00:00 UTC"
    )
    assert by_key[("KV-LOG-003", "kv-nw-eth-signer")] == (
        "kv-nw-eth-signer: no usage data was collected for this vault (last_event and window_days not observed)"
    )
    assert not [m for m in by_key.values() if "unknown" in m and "not observed" not in m]
