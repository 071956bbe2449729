"""Options: flags, environment variables, clouds and shards."""

from __future__ import annotations

import argparse

import pytest

from kvaudit.scanner.azure import AzureOptions, add_azure_arguments, options_from_args
from kvaudit.scanner.azure.clouds import named_cloud
from kvaudit.scanner.azure.options import Shard
from kvaudit.scanner.errors import UsageError

SUB_A = "11111111-1111-4111-8111-111111111111"
SUB_B = "22222222-2222-4222-8222-222222222222"


def parse(argv: list[str], env: dict[str, str] | None = None) -> AzureOptions:
    parser = argparse.ArgumentParser()
    add_azure_arguments(parser)
    return options_from_args(parser.parse_args(argv), environ=env or {})


def test_defaults_are_the_public_cloud_and_design_rates() -> None:
    opts = parse([])
    cloud = opts.cloud
    assert cloud is not None
    assert (cloud.name, cloud.arm_endpoint, cloud.authority_host) == (
        "public",
        "https://management.azure.com",
        "login.microsoftonline.com",
    )
    assert (cloud.keyvault_dns_suffix, cloud.managedhsm_dns_suffix) == ("vault.azure.net", "managedhsm.azure.net")
    assert cloud.graph_endpoint == "https://management.azure.com"
    assert cloud.arm_scope == "https://management.azure.com/.default"
    assert (opts.vault_rps, opts.subscription_rps, opts.max_in_flight, opts.timeout) == (50.0, 20.0, 64, 30.0)
    assert (opts.subscriptions, opts.workspaces, opts.shard) == ([], [], None)


@pytest.mark.parametrize(
    ("name", "arm", "authority", "kv", "hsm", "la"),
    [
        (
            "usgov",
            "https://management.usgovcloudapi.net",
            "login.microsoftonline.us",
            "vault.usgovcloudapi.net",
            "managedhsm.usgovcloudapi.net",
            "https://api.loganalytics.us",
        ),
        (
            "china",
            "https://management.chinacloudapi.cn",
            "login.chinacloudapi.cn",
            "vault.azure.cn",
            "managedhsm.azure.cn",
            "https://api.loganalytics.azure.cn",
        ),
    ],
)
def test_sovereign_clouds(name: str, arm: str, authority: str, kv: str, hsm: str, la: str) -> None:
    cloud = parse(["--cloud", name]).cloud
    assert cloud is not None
    assert (
        cloud.arm_endpoint,
        cloud.authority_host,
        cloud.keyvault_dns_suffix,
        cloud.managedhsm_dns_suffix,
        cloud.loganalytics_endpoint,
    ) == (arm, authority, kv, hsm, la)


def test_flags_override_environment_and_environment_overrides_defaults() -> None:
    env = {
        "KVAUDIT_SUBSCRIPTIONS": f"{SUB_A}, {SUB_B}",
        "KVAUDIT_VAULT_RPS": "10",
        "KVAUDIT_SHARD": "1/3",
        "KVAUDIT_TIMEOUT": "5",
    }
    opts = parse(["--vault-rps", "7.5", "--subscription", SUB_B.upper()], env)
    assert opts.subscriptions == [SUB_B]
    assert opts.vault_rps == 7.5
    assert opts.shard == Shard(1, 3)
    assert opts.timeout == 5.0


def test_custom_cloud_from_arm_endpoint() -> None:
    opts = parse(
        [
            "--arm-endpoint",
            "https://127.0.0.1:8443/",
            "--keyvault-dns-suffix",
            "vault.local",
            "--loganalytics-endpoint",
            "https://127.0.0.1:8443",
            "--workspace",
            "a,b",
            "--workspace",
            "c",
        ]
    )
    cloud = opts.cloud
    assert cloud is not None
    assert (cloud.name, cloud.arm_endpoint, cloud.keyvault_dns_suffix, cloud.managedhsm_dns_suffix) == (
        "custom",
        "https://127.0.0.1:8443",
        "vault.local",
        None,
    )
    assert opts.workspaces == ["a", "b", "c"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--cloud", "custom"], "--cloud custom needs --arm-endpoint"),
        (["--subscription", "not-a-guid"], "is not a subscription id"),
        (["--shard", "4/4"], "need 0 <= I < N"),
        (["--shard", "x"], "must look like I/N"),
        (["--vault-rps", "0"], "--vault-rps must be a positive number"),
        (["--max-in-flight", "many"], "--max-in-flight must be a positive number"),
        (["--arm-endpoint", "http://insecure"], "must be an https:// URL"),
        (["--ca-bundle", "/nonexistent/ca.pem"], "no such file"),
    ],
)
def test_invalid_values_are_usage_errors(argv: list[str], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse(argv)
    assert message in str(caught.value)


def test_unknown_cloud_name_from_environment() -> None:
    with pytest.raises(UsageError, match="unknown cloud 'mars'"):
        parse([], {"KVAUDIT_CLOUD": "mars"})


def test_named_cloud_unknown() -> None:
    with pytest.raises(UsageError):
        named_cloud("moon")
