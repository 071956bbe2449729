"""Signing the report digest with a Key Vault key and verifying it, against a local HTTPS stand-in
holding real keys (tests/reports/signserver.py), plus the CLI end to end with a managed identity
from the fake Azure."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from kvaudit.reports.integrity import check_digest, seal
from kvaudit.reports.renderers import get_renderer
from kvaudit.reports.signing import fetch_public_key, public_key_from_jwk, sign_report, verify_signature
from kvaudit.scanner.cli import main
from kvaudit.scanner.errors import UsageError
from tests.reports.fixtures import golden_report
from tests.reports.signserver import VERSION, SignServer, StaticCredential

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server() -> Any:
    with SignServer() as srv:
        yield srv


@pytest.fixture()
def ca(server: SignServer, tmp_path: Path) -> str:
    return server.write_ca(tmp_path / "ca.pem")


@pytest.mark.parametrize(
    ("key", "algorithm"),
    [("rsa-signer", "PS256"), ("ec-signer", "ES256"), ("ec384-signer", "ES384"), ("ed-signer", "EdDSA")],
)
def test_sign_and_verify_each_key_type(server: SignServer, ca: str, key: str, algorithm: str) -> None:
    report = seal(golden_report())
    server.requests.clear()
    signature = sign_report(report, server.key_id(key), credential=StaticCredential(), ca_bundle=ca)
    assert signature["algorithm"] == algorithm
    assert signature["key_id"] == server.key_id(key, versioned=True)
    assert report["integrity"]["signature"] == signature
    posts = [r for r in server.requests if r[0] != "GET"]
    assert posts == [("POST", f"/keys/{key}/{VERSION}/sign")]
    public = fetch_public_key(signature["key_id"], credential=StaticCredential(), ca_bundle=ca)
    assert verify_signature(report, public).ok
    tampered = copy.deepcopy(report)
    tampered["findings"][0]["message"] += "."
    seal_again = seal({k: v for k, v in tampered.items() if k != "integrity"})
    seal_again["integrity"]["signature"] = signature  # an editor can recompute the digest, not the signature
    assert check_digest(seal_again).ok
    result = verify_signature(seal_again, public)
    assert (result.ok, result.reason) == (False, f"{algorithm} signature by {signature['key_id']} is INVALID")


def test_unusable_key_ids_are_usage_errors() -> None:
    report = seal(golden_report())
    with pytest.raises(UsageError, match="not a Key Vault key id"):
        sign_report(report, "http://vault/keys/x", credential=StaticCredential())
    with pytest.raises(UsageError, match="not a Key Vault key id"):
        sign_report(report, "https://vault.example/secrets/x", credential=StaticCredential())


def test_signing_failure_is_one_line(server: SignServer, ca: str) -> None:
    with pytest.raises(UsageError, match=r"^--sign-with .*/keys/missing: signing failed: "):
        sign_report(seal(golden_report()), server.key_id("missing"), credential=StaticCredential(), ca_bundle=ca)


@pytest.mark.parametrize("form", ["jwk", "bundle", "pem"])
def test_verify_offline_with_public_key_file(
    server: SignServer, ca: str, tmp_path: Path, form: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = seal(golden_report())
    signature = sign_report(report, server.key_id("ec-signer"), credential=StaticCredential(), ca_bundle=ca)
    path = tmp_path / "report.json"
    path.write_text(get_renderer("json")(report), encoding="utf-8")
    jwk = fetch_public_key(signature["key_id"], credential=StaticCredential(), ca_bundle=ca)
    key_file = tmp_path / "key.pub"
    if form == "jwk":
        key_file.write_text(json.dumps(jwk), encoding="utf-8")
    elif form == "bundle":
        key_file.write_text(json.dumps({"key": jwk, "attributes": {}}), encoding="utf-8")
    else:
        key_file.write_bytes(public_key_from_jwk(jwk).public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo))
    assert main(["verify", str(path), "--public-key", str(key_file)]) == 0
    assert capsys.readouterr().out.endswith(f"; ES256 signature by {signature['key_id']} is valid\n")
    # Re-sealed after an edit: the digest matches, the signature does not.
    edited = json.loads(path.read_text(encoding="utf-8"))
    edited["summary"]["by_status"]["FAIL"] = 0
    edited = seal(edited)
    edited["integrity"]["signature"] = signature
    path.write_text(get_renderer("json")(edited), encoding="utf-8")
    assert main(["verify", str(path), "--public-key", str(key_file)]) == 1
    assert capsys.readouterr().out == f"{path}: FAILED: ES256 signature by {signature['key_id']} is INVALID\n"
    assert main(["verify", str(path), "--digest-only"]) == 0


def test_verify_with_a_public_key_of_the_wrong_type(
    server: SignServer, ca: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = seal(golden_report())
    sign_report(report, server.key_id("rsa-signer"), credential=StaticCredential(), ca_bundle=ca)
    path = tmp_path / "report.json"
    path.write_text(get_renderer("json")(report), encoding="utf-8")
    other = fetch_public_key(server.key_id("ec-signer"), credential=StaticCredential(), ca_bundle=ca)
    (tmp_path / "ec.json").write_text(json.dumps(other), encoding="utf-8")
    assert main(["verify", str(path), "--public-key", str(tmp_path / "ec.json")]) == 1
    assert capsys.readouterr().out.endswith("FAILED: the public key does not fit a PS256 signature\n")
    (tmp_path / "junk.pem").write_text("-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n")
    assert main(["verify", str(path), "--public-key", str(tmp_path / "junk.pem")]) == 2


def test_cli_signs_with_managed_identity_and_verify_fetches_the_key(server: SignServer, tmp_path: Path) -> None:
    """``kvaudit demo --sign-with`` and ``kvaudit verify`` as subprocesses, credentials from the
    fake Azure's managed-identity endpoint (DefaultAzureCredential), no other data-plane write."""
    from tests.fakeazure import FakeAzure, build_estate

    with FakeAzure(build_estate.load("minimal")) as fake:
        bundle = tmp_path / "bundle.pem"
        bundle.write_bytes(Path(fake.ca_bundle).read_bytes() + server.ca.cert_pem.bytes())
        env = {**os.environ, **fake.env(), "SSL_CERT_FILE": str(bundle), "REQUESTS_CA_BUNDLE": str(bundle)}
        env["PYTHONPATH"] = str(ROOT)
        out = tmp_path / "signed.json"
        server.requests.clear()
        run = subprocess.run(
            [sys.executable, "-m", "kvaudit.scanner", "demo", "--now", "2025-06-01T00:00:00Z", "-o", f"json:{out}"]
            + ["--sign-with", server.key_id("rsa-signer")],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 0, run.stderr
        assert [r for r in server.requests if r[0] != "GET"] == [("POST", f"/keys/rsa-signer/{VERSION}/sign")]
        report = json.loads(out.read_text(encoding="utf-8"))
        assert report["integrity"]["signature"]["algorithm"] == "PS256"
        check = subprocess.run(
            [sys.executable, "-m", "kvaudit.scanner", "verify", str(out)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert check.returncode == 0, check.stderr
        assert check.stdout.endswith("PS256 signature by " + server.key_id("rsa-signer", True) + " is valid\n")
