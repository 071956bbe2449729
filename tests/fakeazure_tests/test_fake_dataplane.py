"""The real Key Vault SDK clients against the fake's data plane over HTTPS."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from tests.fakeazure import FakeAzure, Faults, build_estate
from tests.fakeazure_tests.helpers import StaticCredential, environment_of, key_client


def test_unauthenticated_request_gets_the_key_vault_challenge(fake: FakeAzure) -> None:
    import ssl

    context = ssl.create_default_context(cafile=fake.ca_bundle)
    request = urllib.request.Request(fake.vault_uri("mhsm-prod-kek") + "keys?api-version=2025-07-01")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, context=context)
    assert info.value.code == 401
    assert info.value.headers["WWW-Authenticate"] == (
        f'Bearer authorization="https://login.microsoftonline.com/{build_estate.TENANT}", '
        'resource="https://managedhsm.azure.net"'
    )


def test_lists_keys_and_versions_with_default_credential(fake: FakeAzure, credential) -> None:
    client = key_client(fake, "kv-prod-apps", credential)
    names = sorted(k.name for k in client.list_properties_of_keys())
    assert names == ["app-rsa", "des-key"]
    versions = list(client.list_properties_of_key_versions("des-key"))
    assert len(versions) == 5
    assert [v.enabled for v in versions] == [True, False, True, True, True]
    key = client.get_key("app-rsa")
    assert key.id.startswith(fake.vault_uri("kv-prod-apps") + "keys/app-rsa/")
    assert key.key_type == "RSA" and len(key.key.n) * 8 == 2048
    assert key.properties.expires_on is None
    # every data-plane request carried a token the fake issued for the vault audience
    calls = [r for r in fake.requests if r.target == "kv-prod-apps" and r.status == 200]
    assert calls and all(fake.tokens[r.headers["Authorization"][7:]] == "https://vault.azure.net" for r in calls)


def test_hsm_key_types_material_and_release_policy(fake: FakeAzure, credential) -> None:
    signer = key_client(fake, "mhsm-prod-signing", credential).get_key("bootstrap-signer")
    assert (signer.key_type, signer.key.crv, len(signer.key.x)) == ("OKP-HSM", "Ed25519", 32)
    assert signer.key_operations == ["sign", "verify"]
    kek_client = key_client(fake, "mhsm-prod-kek", credential)
    kek = kek_client.get_key("envelope-kek")
    assert kek.key_type == "oct-HSM" and kek.key.n is None and kek.key.x is None
    assert kek.properties.recovery_level == "Recoverable"
    skr = kek_client.get_key("skr-cvm")
    assert skr.properties.exportable is True
    policy = skr.properties.release_policy
    assert policy.immutable is False and policy.content_type == "application/json; charset=utf-8"
    document = json.loads(policy.encoded_policy)
    assert document["anyOf"][0]["allOf"][0] == {
        "claim": "x-ms-isolation-tee.x-ms-attestation-type",
        "equals": "sevsnpvm",
    }
    eth = key_client(fake, "kv-prod-payments", credential).get_key("eth-signer")
    assert (eth.key_type, eth.key.crv) == ("EC-HSM", "P-256K")


def test_rotation_policy_explicit_default_and_missing_key(fake: FakeAzure, credential) -> None:
    client = key_client(fake, "mhsm-prod-kek", credential)
    default = client.get_key_rotation_policy("envelope-kek")
    assert default.id is None
    assert [(a.action, a.time_before_expiry) for a in default.lifetime_actions] == [("Notify", "P30D")]
    explicit = client.get_key_rotation_policy("skr-cvm")
    assert explicit.id == fake.vault_uri("mhsm-prod-kek") + "keys/skr-cvm/rotationpolicy"
    assert explicit.expires_in == "P1Y"
    assert [(a.action, a.time_after_create) for a in explicit.lifetime_actions][0] == ("Rotate", "P180D")
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_key_rotation_policy("no-such-key")
    assert info.value.error.code == "KeyNotFound"


def test_pages_follow_next_link(estate: dict) -> None:
    from azure.identity import DefaultAzureCredential

    with FakeAzure(estate, page_size=2) as small, environment_of(small):
        client = key_client(small, "kv-prod-apps", DefaultAzureCredential())
        assert len(list(client.list_properties_of_key_versions("des-key"))) == 5
        pages = [r for r in small.requests if r.path.endswith("/versions") and r.status == 200]
        assert len(pages) == 3
        assert "$skiptoken" in pages[1].query and "$skiptoken" not in pages[0].query


def test_async_key_client(fake: FakeAzure, fake_env) -> None:
    from azure.identity.aio import DefaultAzureCredential
    from azure.keyvault.keys.aio import KeyClient

    async def run() -> list[str]:
        async with (
            DefaultAzureCredential() as cred,
            KeyClient(
                fake.vault_uri("mhsm-prod-signing"),
                cred,
                verify_challenge_resource=False,
                connection_verify=fake.ca_bundle,
            ) as client,
        ):
            return sorted([k.name async for k in client.list_properties_of_keys()])

    assert asyncio.run(run()) == ["artifact-signer", "bootstrap-signer"]


def test_hsm_local_rbac_scopes(fake: FakeAzure, fake_env) -> None:
    from azure.identity.aio import DefaultAzureCredential
    from azure.keyvault.administration import KeyVaultRoleScope
    from azure.keyvault.administration.aio import KeyVaultAccessControlClient

    async def run() -> tuple[dict[str, list[str]], list[str], list[str]]:
        async with (
            DefaultAzureCredential() as cred,
            KeyVaultAccessControlClient(
                fake.vault_uri("mhsm-prod-signing"),
                cred,
                verify_challenge_resource=False,
                connection_verify=fake.ca_bundle,
            ) as client,
        ):
            seen = {}
            for label, scope in (
                ("/", KeyVaultRoleScope.GLOBAL),
                ("/keys", KeyVaultRoleScope.KEYS),
                ("/keys/bootstrap-signer", "/keys/bootstrap-signer"),
            ):
                seen[label] = sorted([a.properties.scope async for a in client.list_role_assignments(scope)])
            names = sorted([d.role_name async for d in client.list_role_definitions(KeyVaultRoleScope.GLOBAL)])
            paths = [r.path for r in fake.requests if r.target == "mhsm-prod-signing" and "roleAssign" in r.path]
            return seen, names, paths

    seen, names, paths = asyncio.run(run())
    # at "/" every assignment of the HSM is at or below the scope; elsewhere: at, above and below
    assert seen["/"] == ["/", "/", "/", "/", "/keys", "/keys", "/keys/bootstrap-signer"]
    assert seen["/keys"] == ["/", "/", "/", "/", "/keys", "/keys", "/keys/bootstrap-signer"]
    assert seen["/keys/bootstrap-signer"] == ["/", "/", "/", "/", "/keys", "/keys", "/keys/bootstrap-signer"]
    assert "Managed HSM Crypto User" in names and "Managed HSM Administrator" in names
    assert "/providers/Microsoft.Authorization/roleAssignments" in paths
    assert "/keys/bootstrap-signer/providers/Microsoft.Authorization/roleAssignments" in paths


def test_forbidden_vault_answers_403(estate: dict) -> None:
    with FakeAzure(estate, faults=Faults(forbidden=["kv-prod-legacy"])) as denied:
        client = key_client(denied, "kv-prod-legacy", StaticCredential(denied, "https://vault.azure.net"))
        with pytest.raises(HttpResponseError) as info:
            list(client.list_properties_of_keys())
        assert info.value.status_code == 403
        assert info.value.error.code == "Forbidden"
        assert "ForbiddenByRbac" in json.dumps(json.loads(info.value.response.text()))


def test_vanished_key_is_listed_then_not_found(estate: dict) -> None:
    with FakeAzure(estate, faults=Faults(vanish=["kv-prod-apps/keys/app-rsa"])) as vanishing:
        client = key_client(vanishing, "kv-prod-apps", StaticCredential(vanishing, "https://vault.azure.net"))
        assert "app-rsa" in [k.name for k in client.list_properties_of_keys()]
        with pytest.raises(ResourceNotFoundError):
            client.get_key("app-rsa")


def test_writes_are_refused(fake: FakeAzure, credential) -> None:
    client = key_client(fake, "kv-prod-apps", credential)
    with pytest.raises(HttpResponseError) as info:
        client.create_rsa_key("new-key")
    assert info.value.status_code == 400
    assert info.value.error.code == "NotSupportedByFake"
