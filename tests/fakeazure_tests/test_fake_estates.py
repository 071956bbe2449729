"""Estate builders, JSON estates, the standalone runner and a ~1,050-port scale start."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.fakeazure import FakeAzure, build_estate
from tests.fakeazure_tests.helpers import raw_get

ROOT = Path(__file__).resolve().parents[2]


def test_planted_findings_point_at_estate_objects(estate: dict) -> None:
    ids = {r["id"].lower() for r in estate["resources"]}
    ids |= {f"{owner}/keys/{k['name']}".lower() for owner, keys in estate["keys"].items() for k in keys}
    ids |= {a["id"].lower() for a in estate["roleAssignments"]}
    ids |= {
        f"{owner}/roleassignments/{a['name']}".lower()
        for owner, rows in estate["hsmRoleAssignments"].items()
        for a in rows
    }
    missing = [p for p in estate["planted"] if p["resource_id"] not in ids]
    assert missing == []
    assert len(estate["planted"]) == 67
    assert {
        "pinned_version_disabled",
        "hsm_crypto_role_at_broad_scope",
        "no_audit_diagnostic_setting",
        "signing_key_reference_unpinned",
    } <= {p["what"] for p in estate["planted"]}


def test_default_estate_is_deterministic_for_a_fixed_clock() -> None:
    assert build_estate.default(now=1) == build_estate.default(now=1)


def test_json_estate_round_trip(tmp_path: Path, estate: dict) -> None:
    path = tmp_path / "estate.json"
    build_estate.save(estate, path)
    assert build_estate.load(path) == json.loads(json.dumps(estate))
    assert build_estate.load("minimal")["resources"][0]["name"] == "kv-minimal"


def test_scale_estate_generates_keys_on_demand() -> None:
    estate = build_estate.scale(vaults=1000, keys=50, versions=3, hsms=20, hsm_keys=200, now=0)
    vault_ids = [r["id"].lower() for r in estate["resources"] if r["type"] == "Microsoft.KeyVault/vaults"]
    assert len(vault_ids) == 1000 and len(estate["keys"]) == 1020
    first = estate["keys"][vault_ids[0]]
    assert len(first) == 50 and all(len(k["versions"]) == 3 for k in first)
    assert estate["keys"][vault_ids[0]] is first  # cached while recently used


def test_scale_fake_listens_on_every_vault_port() -> None:
    estate = build_estate.scale(vaults=1030, keys=2, versions=1, hsms=20, hsm_keys=2)
    started = time.monotonic()
    with FakeAzure(estate, record=False) as fake:
        assert time.monotonic() - started < 10
        ports = {o.port for o in fake.index.owners_by_name.values()}
        assert len(ports) == 1050
        token = fake.issue_token("https://managedhsm.azure.net")
        status, _, body = raw_get(fake, fake.vault_uri("mhsm-scale-019") + "keys?api-version=2025-07-01", token)
        assert status == 200 and len(json.loads(body)["value"]) == 2


def test_standalone_runner_writes_ready_file(tmp_path: Path) -> None:
    ready = tmp_path / "ready.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakeazure",
            "--estate",
            "scale:3,2,1,1,2",
            "--latency",
            "0.01",
            "--ready-file",
            str(ready),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        deadline = time.monotonic() + 30
        while not ready.exists() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        assert set(info) == {"arm_endpoint", "ca_bundle", "env", "vaults"}
        assert set(info["env"]) == {"IDENTITY_ENDPOINT", "IDENTITY_HEADER", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE"}
        assert sorted(info["vaults"]) == ["kv-scale-00000", "kv-scale-00001", "kv-scale-00002", "mhsm-scale-000"]

        class Endpoint:  # raw_get needs only the CA bundle
            ca_bundle = info["ca_bundle"]

        status, _, _ = raw_get(Endpoint(), info["arm_endpoint"] + "/subscriptions?api-version=2022-12-01", None)
        assert status == 401
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(10) == 0


SUBPROCESS_SCRIPT = """
import sys
from azure.identity import DefaultAzureCredential
from azure.keyvault.keys import KeyClient
from azure.mgmt.keyvault import KeyVaultManagementClient

credential = DefaultAzureCredential()
vaults = KeyVaultManagementClient(credential, sys.argv[2], base_url=sys.argv[1]).vaults.list_by_subscription()
uri = next(v.properties.vault_uri for v in vaults if v.name == "kv-prod-apps")
keys = KeyClient(uri, credential, verify_challenge_resource=False).list_properties_of_keys()
print(",".join(sorted(k.name for k in keys)))
"""


def test_env_alone_lets_a_subprocess_authenticate_and_trust_the_fake(fake: FakeAzure) -> None:
    """No connection_verify in the child: the CA comes from REQUESTS_CA_BUNDLE, tokens from the fake."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AZURE_", "IDENTITY_", "MSI_"))}
    result = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_SCRIPT, fake.arm_endpoint, build_estate.SUB_PROD],
        env={**env, **fake.env()},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "app-rsa,des-key"
