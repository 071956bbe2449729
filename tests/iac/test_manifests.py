"""Key references written as separate settings, in env vars, flags, Kubernetes and Helm YAML."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.manifests import load_manifests, read_manifest
from kvaudit.scanner.keyrefs import UNRESOLVED, find_in_arguments, find_in_settings

HSM = "https://yutha-hsm.managedhsm.azure.net"


def test_env_vars_with_a_shared_prefix_make_one_reference() -> None:
    (ref,) = find_in_settings(
        {
            "YUTHA_SIGNER_AZURE_KV_VAULT_URL": HSM,
            "YUTHA_SIGNER_AZURE_KV_KEY_NAME": "bootstrap",
            "YUTHA_CONTROL_PLANE_ADDR": "http://127.0.0.1:7000",
        }
    )
    assert (ref.prefix, ref.purpose, ref.pinned, ref.key_uri) == (
        ("yutha", "signer"),
        "sign",
        False,
        f"{HSM}/keys/bootstrap",
    )


def test_a_version_setting_pins_and_an_empty_one_does_not() -> None:
    base = {"SIGNER_VAULT_URL": HSM, "SIGNER_KEY_NAME": "k"}
    (pinned,) = find_in_settings({**base, "SIGNER_KEY_VERSION": "a1b2"})
    (empty,) = find_in_settings({**base, "SIGNER_KEY_VERSION": ""})
    (unknown,) = find_in_settings({**base, "SIGNER_KEY_VERSION": UNRESOLVED})
    assert (pinned.pinned, pinned.key_uri) == (True, f"{HSM}/keys/k/a1b2")
    assert (empty.pinned, unknown.pinned) == (False, None)


def test_naming_styles_and_flags() -> None:
    (camel,) = find_in_settings({"signerAzureKvVaultUrl": HSM, "signerAzureKvKeyName": "k"})
    (flags,) = find_in_arguments(
        ["--signer", "azure-kv", f"--signer-azure-kv-vault-url={HSM}", "--signer-azure-kv-key-name", "k"]
    )
    (plain,) = find_in_settings({"AZURE_KEY_VAULT_URL": "https://kv.vault.azure.net/", "AZURE_KEY_NAME": "cmk"})
    assert camel.prefix == flags.prefix == ("signer",)
    assert plain.key_uri == "https://kv.vault.azure.net/keys/cmk"


def test_settings_that_are_not_a_key_vault_are_ignored() -> None:
    assert find_in_settings({"APP_VAULT_URL": "https://vault.example.com", "APP_KEY_NAME": "k"}) == []
    assert find_in_settings({"SIGNER_VAULT_URL": HSM}) == []


DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: yutha-control-plane
  namespace: yutha
spec:
  template:
    spec:
      containers:
        - name: control-plane
          image: yutha:1
          env:
            - name: YUTHA_SIGNER_AZURE_KV_VAULT_URL
              value: {HSM}
            - name: YUTHA_SIGNER_AZURE_KV_KEY_NAME
              value: bootstrap
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: signer
data:
  SIGNER_VAULT_URL: {HSM}
  SIGNER_KEY_NAME: bootstrap
  SIGNER_KEY_VERSION: a1b2c3
"""


def test_a_deployment_and_a_config_map(tmp_path: Path) -> None:
    path = tmp_path / "deploy.yaml"
    path.write_text(DEPLOYMENT)
    rows, _ = read_manifest(path, "deploy.yaml")
    got = [(r["consumer_type"], r["consumer_name"], r["key_uri"], r["pinned"], r["purpose"], r["line"]) for r in rows]
    assert got == [
        ("kubernetes/Deployment", "yutha-control-plane", f"{HSM}/keys/bootstrap", False, "sign", 10),
        ("kubernetes/ConfigMap", "signer", f"{HSM}/keys/bootstrap/a1b2c3", True, "sign", 18),
    ]
    assert rows[0]["id"] == "kubernetes:deploy.yaml/deployment/yutha/yutha-control-plane#control-plane/env/yutha.signer"


def test_helm_values_and_secret_refs(tmp_path: Path) -> None:
    path = tmp_path / "values.yaml"
    path.write_text(
        "signer:\n  azureKv:\n    vaultUrl: " + HSM + "\n    keyName: bootstrap\n    keyVersion: ''\n"
        "extraEnv:\n  - name: KEK_VAULT_URL\n    value: https://kv.vault.azure.net\n"
        "  - name: KEK_KEY_NAME\n    valueFrom:\n      secretKeyRef: {name: s, key: k}\n"
    )
    rows, _ = read_manifest(path, "values.yaml")
    got = sorted(((r["consumer_type"], r["key_uri"], r["key_name"], r["pinned"], r["purpose"]) for r in rows), key=str)
    assert got == [
        ("helm-values", f"{HSM}/keys/bootstrap", "bootstrap", False, "sign"),
        ("helm-values", None, None, False, "wrap"),
    ]


def test_alias_bombs_and_bad_yaml_are_bounded_one_line_errors(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 30):
        lines.append(
            f"{chr(97 + i % 26)}{i}: &a{i} [*{'a' if i == 1 else f'a{i - 1}'}, *{'a' if i == 1 else f'a{i - 1}'}]"
        )
    bomb = tmp_path / "bomb.yaml"
    bomb.write_text("\n".join(lines) + "\n")
    rows, _ = read_manifest(bomb, "bomb.yaml")
    assert rows == []
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(InputError) as caught:
        read_manifest(bad, "bad.yaml")
    assert str(caught.value).startswith("bad.yaml:") and "\n" not in str(caught.value)


def test_load_manifests_builds_key_reference_rows(tmp_path: Path) -> None:
    (tmp_path / "deploy.yaml").write_text(DEPLOYMENT)
    (tmp_path / "broken.yaml").write_text("a: [\n")
    inventory, errors = load_manifests(sorted(tmp_path.glob("*.yaml")), tmp_path)
    assert [e.origin for e in errors] == ["broken.yaml"]
    refs = inventory.tables["key_references"]
    assert list(refs["source"]) == ["kubernetes", "kubernetes"]
    assert list(refs["pinned"]) == [False, True]
