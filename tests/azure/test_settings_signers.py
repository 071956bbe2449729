"""Live Container Apps that name their signing key as separate settings, end to end through the
fake Azure: the real collector, the real SDK pipeline, real HTTPS.

The apps (tests/fakeazure/build_estate.py ``with_settings_signers``) are Yutha control planes
configured as the bootstrap-signer guide describes, with YUTHA_SIGNER_AZURE_KV_* variables.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from kvaudit.rules.engine import evaluate
from kvaudit.rules.registry import get
from kvaudit.scanner.azure.apiversions import API_VERSIONS
from tests.azure.conftest import Scanned, scan
from tests.fakeazure import FakeAzure, Faults, build_estate
from tests.fakeazure.faults import ServerError

APPS = ("ca-yutha-pinned", "ca-yutha-secret-version", "ca-yutha-unpinned")
WHO = build_estate.SETTINGS_SIGNERS


@pytest.fixture(scope="module")
def scanned() -> Iterator[Scanned]:
    estate = build_estate.with_settings_signers(build_estate.default())
    with FakeAzure(estate, faults=Faults()) as fake, pytest.MonkeyPatch.context() as mp:
        yield scan(fake, mp)


def _refs(scanned: Scanned) -> dict[str, dict[str, Any]]:
    refs = scanned.inventory.tables["key_references"]
    rows = refs[refs["consumer_name"].isin(APPS)].to_dict("records")
    return {r["consumer_name"]: {k: (None if _na(v) else v) for k, v in r.items()} for r in rows}


def _na(value: Any) -> bool:
    return not isinstance(value, list) and pd.isna(value)


def test_settings_references_with_their_identities(scanned: Scanned) -> None:
    got = _refs(scanned)
    assert sorted(got) == list(APPS)
    hsm = scanned.fake.vault_uri("mhsm-prod-signing").rstrip("/")
    version = got["ca-yutha-pinned"]["key_version"]
    summary = {
        name: (r["key_uri"], r["pinned"], r["purpose"], r["principal_id"], r["unresolved"], r["api_version"])
        for name, r in got.items()
    }
    api = API_VERSIONS["container_apps"]
    assert summary == {
        # AZURE_CLIENT_ID picks the user-assigned identity, not the system-assigned one.
        "ca-yutha-pinned": (f"{hsm}/keys/bootstrap-signer/{version}", True, "sign", WHO["uai-principal"], [], api),
        # The version is a secret: the reference exists, its pinning is unknown.
        "ca-yutha-secret-version": (None, None, "sign", None, ["key_uri", "key_version", "pinned"], api),
        "ca-yutha-unpinned": (f"{hsm}/keys/bootstrap-signer", False, "sign", WHO["system"], [], api),
    }
    key_ids = {r["key_id"] for r in got.values()}
    assert len(key_ids) == 1 and key_ids <= set(scanned.inventory.tables["keys"]["id"])


def test_unpinned_signer_and_its_grants(scanned: Scanned) -> None:
    evaluation = evaluate(scanned.inventory, None, rules=[get("KV-VER-001"), get("KV-ACC-004")])
    found = {
        (o.rule.id, str(name)): str(status)
        for o in evaluation.outcomes
        for name, status in zip(o.results["resource_name"], o.results["status"], strict=True)
    }
    assert {k: v for k, v in found.items() if k[0] == "KV-VER-001" and k[1] in APPS} == {
        ("KV-VER-001", "ca-yutha-pinned"): "PASS",
        ("KV-VER-001", "ca-yutha-secret-version"): "UNKNOWN",
        ("KV-VER-001", "ca-yutha-unpinned"): "FAIL",
    }
    # The unpinned app's identity signs with bootstrap-signer and holds Crypto User at /keys of
    # the KEK HSM, where envelope-kek unwraps.
    assert found[("KV-ACC-004", "mhsm-prod-kek:/keys:c2000000-0000-4000-8000-0000000000e1")] == "FAIL"


def test_only_read_only_calls_and_no_app_service_settings(scanned: Scanned) -> None:
    requests = [r for r in scanned.fake.requests if r.plane != "identity"]
    listed = [r for r in requests if r.path.lower().endswith("/providers/microsoft.app/containerapps")]
    assert {r.method for r in listed} == {"GET"} and listed
    assert {r.query.get("api-version") for r in listed} == {API_VERSIONS["container_apps"]}
    for r in requests:
        path = r.path.lower()
        # Container Apps' listSecrets and App Service's appsettings/list return secret values.
        assert "listsecrets" not in path and "/config/appsettings" not in path, r.path
        if r.method != "GET":
            assert r.method == "POST" and (
                path == "/providers/microsoft.resourcegraph/resources" or path.startswith("/v1/workspaces/")
            ), r.path


def test_a_failed_list_is_a_collection_error_and_graph_still_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    estate = build_estate.with_settings_signers(build_estate.default())
    faults = Faults(
        errors=[
            ServerError(
                r"^GET arm/subscriptions/[^/]+/providers/Microsoft\.App/containerApps", count=10_000, status=500
            )
        ]
    )
    with FakeAzure(estate, faults=faults) as fake:
        scanned = scan(fake, monkeypatch, retry_total=1)
    errors = scanned.inventory.tables["collection_errors"]
    mine = errors[errors["operation"].eq("containerapps.list_by_subscription")]
    assert sorted(mine["id"]) == [f"/subscriptions/{s}" for s in (build_estate.SUB_PROD, build_estate.SUB_DEV)]
    assert [list(a) for a in mine["affects"]] == [["key_references"]] * 2
    # Resource Graph returned the same apps, so their references are still found.
    got = _refs(scanned)
    assert {n: r["pinned"] for n, r in got.items()} == {
        "ca-yutha-pinned": True,
        "ca-yutha-secret-version": None,
        "ca-yutha-unpinned": False,
    }
    assert {r["api_version"] for r in got.values()} == {API_VERSIONS["resource_graph"]}
