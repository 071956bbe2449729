"""Faults and service-like throttling, observed through the real SDK retry policies and the log."""

from __future__ import annotations

import json
import time

import pytest
from azure.core.exceptions import HttpResponseError, ServiceResponseError

from tests.fakeazure import Delay, FakeAzure, Faults, RateLimit, ServerError, Throttle
from tests.fakeazure.build_estate import SUB_PROD
from tests.fakeazure_tests.helpers import StaticCredential, key_client, raw_get

VAULT = "https://vault.azure.net"


def statuses(fake: FakeAzure, route: str) -> list[int | None]:
    return [r.status for r in fake.requests if r.route == route]


def test_429_with_retry_after_is_retried_by_the_sdk(estate: dict) -> None:
    faults = Faults(throttle=[Throttle(r"^GET kv-prod-apps/keys$", count=1, retry_after=1)])
    with FakeAzure(estate, faults=faults) as fake:
        client = key_client(fake, "kv-prod-apps", StaticCredential(fake, VAULT))
        started = time.monotonic()
        assert len(list(client.list_properties_of_keys())) == 2
        assert time.monotonic() - started >= 1.0
        # The SDK caches a vault host's auth challenge process-wide, so the first 401 is absent
        # when an earlier test's fake listened on the same port.
        assert statuses(fake, "GET kv-prod-apps/keys") in ([401, 429, 200], [429, 200])
        throttled = next(r for r in fake.requests if r.status == 429)
        assert throttled.query["api-version"] == "2025-07-01"


def test_429_without_retry_after_and_503s_use_backoff(estate: dict) -> None:
    faults = Faults(
        throttle=[Throttle(r"/versions$", count=1, retry_after=None)],
        errors=[ServerError(r"/rotationpolicy$", count=2, status=503)],
    )
    with FakeAzure(estate, faults=faults) as fake:
        client = key_client(fake, "kv-prod-apps", StaticCredential(fake, VAULT), retry_backoff_factor=0.01)
        assert len(list(client.list_properties_of_key_versions("des-key"))) == 5
        assert client.get_key_rotation_policy("des-key").expires_in == "P2Y"
        assert statuses(fake, "GET kv-prod-apps/keys/des-key/versions") == [401, 429, 200]
        assert statuses(fake, "GET kv-prod-apps/keys/des-key/rotationpolicy") == [503, 503, 200]


def test_hang_longer_than_client_timeout(estate: dict) -> None:
    faults = Faults(delays=[Delay(r"^GET kv-prod-empty/keys$", seconds=30, count=1)])
    with FakeAzure(estate, faults=faults) as fake:
        client = key_client(fake, "kv-prod-empty", StaticCredential(fake, VAULT), retry_total=0)
        started = time.monotonic()
        with pytest.raises(ServiceResponseError):
            list(client.list_properties_of_keys(read_timeout=0.5))
        assert time.monotonic() - started < 5
        hung = [r for r in fake.requests if r.route == "GET kv-prod-empty/keys" and r.status is None]
        assert len(hung) == 1
        stopping = time.monotonic()
    assert time.monotonic() - stopping < 5  # a hung handler does not hold up stop()


def test_truncated_listing_links_to_a_failing_page(estate: dict) -> None:
    with FakeAzure(estate, faults=Faults(truncate=[r"^GET kv-prod-apps/keys$"])) as fake:
        client = key_client(fake, "kv-prod-apps", StaticCredential(fake, VAULT), retry_total=0)
        pages = client.list_properties_of_keys().by_page()
        assert len(list(next(pages))) == 2
        with pytest.raises(HttpResponseError) as info:
            list(next(pages))
        assert info.value.status_code == 500
        assert fake.requests[-1].query["$skiptoken"] == "broken"


def test_vault_rate_limit_answers_429_with_retry_after(estate: dict) -> None:
    with FakeAzure(estate, faults=Faults(vault_rate=RateLimit(3, 10))) as fake:
        token = fake.issue_token(VAULT)
        url = fake.vault_uri("kv-prod-payments") + "keys?api-version=2025-07-01"
        results = [raw_get(fake, url, token) for _ in range(4)]
        assert [status for status, _, _ in results] == [200, 200, 200, 429]
        status, headers, body = results[3]
        assert 1 <= int(headers["Retry-After"]) <= 10
        assert json.loads(body)["error"]["code"] == "Throttled"
        # the budget is per vault: another vault is unaffected
        other = fake.vault_uri("kv-prod-apps") + "keys?api-version=2025-07-01"
        assert raw_get(fake, other, token)[0] == 200


def test_arm_rate_limit_per_subscription_reports_remaining_reads(estate: dict) -> None:
    with FakeAzure(estate, faults=Faults(arm_rate=RateLimit(2, 3600))) as fake:
        token = fake.issue_token("https://management.azure.com")
        url = f"{fake.arm_endpoint}/subscriptions/{SUB_PROD}/providers/Microsoft.KeyVault/vaults?api-version=2026-05-15"
        results = [raw_get(fake, url, token) for _ in range(3)]
        assert [s for s, _, _ in results] == [200, 200, 429]
        assert [h.get("x-ms-ratelimit-remaining-subscription-reads") for _, h, _ in results] == ["1", "0", "0"]
        assert int(results[2][1]["Retry-After"]) > 3000


def test_latency_is_added_to_every_call(estate: dict) -> None:
    with FakeAzure(estate, latency=0.2) as fake:
        token = fake.issue_token(VAULT)
        started = time.monotonic()
        assert raw_get(fake, fake.vault_uri("kv-dev-01") + "keys?api-version=2025-07-01", token)[0] == 200
        assert time.monotonic() - started >= 0.2


def test_missing_api_version_is_rejected(fake: FakeAzure) -> None:
    token = fake.issue_token(VAULT)
    status, _, body = raw_get(fake, fake.vault_uri("kv-dev-01") + "keys", token)
    assert status == 400 and json.loads(body)["error"]["code"] == "MissingApiVersionParameter"


def test_token_endpoint_requires_the_identity_header(fake: FakeAzure) -> None:
    import urllib.error
    import urllib.request

    url = fake.identity_endpoint + "?api-version=2019-08-01&resource=https://vault.azure.net"
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(url)
    assert info.value.code == 401
    request = urllib.request.Request(url, headers={"X-IDENTITY-HEADER": fake.env()["IDENTITY_HEADER"]})
    with urllib.request.urlopen(request) as response:
        payload = json.load(response)
    assert set(payload) >= {"access_token", "expires_on", "resource", "token_type"}
    assert payload["access_token"].startswith("fake-token-") and fake.tokens[payload["access_token"]] == VAULT


def test_vault_subscription_rate_limit_spans_every_vault_of_the_subscription(estate: dict) -> None:
    faults = Faults(vault_rate=None, vault_subscription_rate=RateLimit(3, 10))
    with FakeAzure(estate, faults=faults) as fake:
        token = fake.issue_token(VAULT)

        def get(name: str) -> int:
            return raw_get(fake, fake.vault_uri(name) + "keys?api-version=2025-07-01", token)[0]

        assert [get("kv-prod-payments"), get("kv-prod-payments"), get("kv-prod-apps")] == [200, 200, 200]
        assert get("kv-prod-apps") == 429  # a fourth request in the same subscription
        assert get("kv-dev-01") == 200  # another subscription has its own budget


def test_counters_count_operations_and_statuses_without_the_request_log(estate: dict) -> None:
    with FakeAzure(estate, faults=Faults(vault_rate=RateLimit(2, 10)), record=False) as fake:
        token = fake.issue_token(VAULT)
        base = fake.vault_uri("kv-prod-apps")
        for path in ("keys", "keys", "keys/des-key/versions"):
            raw_get(fake, f"{base}{path}?api-version=2025-07-01", token)
        raw_get(fake, f"{fake.vault_uri('kv-dev-01')}keys/x/rotationpolicy?api-version=2025-07-01", None)
        status, _, body = raw_get(fake, fake.arm_endpoint + "/_fakeazure/counters", None)
        assert status == 200
        assert json.loads(body) == {
            "operations": {
                "keys.list": {"200": 2},
                "keys.list_versions": {"429": 1},
                "keys.rotation_policy": {"401": 1},
            },
            "total": 4,
        }
        assert fake.requests == []
