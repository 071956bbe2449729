"""The ARM template function library: exact values for known arguments, unknown otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from kvaudit.scanner.iac.arm.library import LIBRARY, LibraryError, is_runtime_function
from kvaudit.scanner.iac.arm.values import UNKNOWN, Unknown


def call(name: str, *args: Any) -> Any:
    return LIBRARY[name.lower()](list(args), None)


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["test"], "rbgf3xv4ufgzg"),
        (["hello", "world"], "a7wkljktk6wne"),
        (["abc"], "cgtzqvhu4i23s"),
        (["/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/my-rg"], "bmg7c6xu4tw46"),
        (["foo", "bar", "baz"], "xzi4ioaxtmth4"),
    ],
)
def test_unique_string_matches_azure(args: list[str], expected: str) -> None:
    assert call("uniqueString", *args) == expected


def test_guid_is_the_name_based_uuid_azure_computes() -> None:
    assert call("guid", "a", "b", "c") == "a98fa280-e03f-5afa-8d8e-92d0a9c201e8"


def test_hashes_of_unknown_or_placeholder_scopes_stay_unknown() -> None:
    assert call("uniqueString", "/subscriptions/iac/resourceGroups/iac") == Unknown(
        label="uniqueString('/subscriptions/iac/resourceGroups/iac')"
    )
    assert call("guid", Unknown(label="parameters('p')"), "x") == Unknown(label="guid({parameters('p')}, 'x')")
    assert call("guid", UNKNOWN) is UNKNOWN


@pytest.mark.parametrize(
    ("name", "args", "expected"),
    [
        ("base64", ['{"a":1}'], "eyJhIjoxfQ=="),
        ("base64ToString", ["eyJhIjoxfQ=="], '{"a":1}'),
        ("base64ToJson", ["eyJhIjoxfQ=="], {"a": 1}),
        ("dataUri", ["Hello"], "data:text/plain;charset=utf8;base64,SGVsbG8="),
        ("dataUriToString", ["data:;base64,SGVsbG8sIFdvcmxkIQ=="], "Hello, World!"),
        ("indexOf", ["abcdef", "CD"], 2),
        ("lastIndexOf", ["abcabc", "b"], 4),
        ("indexOf", [[1, 2, 3, 2], 2], 1),
        ("indexOf", [[1, 2], 9], -1),
        ("padLeft", ["123", 6, "0"], "000123"),
        ("uri", ["https://a.example/x/", "y.json"], "https://a.example/x/y.json"),
        ("uriComponent", ["a b/c"], "a%20b%2Fc"),
        ("uriComponentToString", ["a%20b%2Fc"], "a b/c"),
        ("float", ["1.5"], 1.5),
        ("min", [[3, 1, 2]], 1),
        ("max", [3, 1, 2], 3),
        ("intersection", [[1, 2, 3], [2, 3, 4], [3, 2]], [2, 3]),
        ("intersection", [{"a": 1, "b": 2}, {"a": 1, "b": 3}], {"a": 1}),
        ("flatten", [[[1, 2], [3]]], [1, 2, 3]),
        ("objectKeys", [{"b": 1, "a": 2}], ["b", "a"]),
        ("items", [{"b": 1, "a": 2}], [{"key": "a", "value": 2}, {"key": "b", "value": 1}]),
        ("shallowMerge", [[{"a": 1, "n": {"x": 1}}, {"n": {"y": 2}}]], {"a": 1, "n": {"y": 2}}),
        ("tryGet", [{"a": {"B": 1}}, "a", "b"], 1),
        ("tryGet", [{"a": 1}, "missing"], None),
        ("dateTimeAdd", ["2026-01-31T00:00:00Z", "P1M"], "2026-02-28T00:00:00Z"),
        ("dateTimeAdd", ["2026-01-01T00:00:00Z", "P1Y2DT3H"], "2027-01-03T03:00:00Z"),
        ("dateTimeAdd", ["2026-01-01T00:00:00Z", "-PT1H"], "2025-12-31T23:00:00Z"),
        ("dateTimeFromEpoch", [1798761600], "2027-01-01T00:00:00Z"),
        ("dateTimeToEpoch", ["2027-01-01T00:00:00Z"], 1798761600),
        ("cidrSubnet", ["10.0.0.0/16", 24, 3], "10.0.3.0/24"),
        ("cidrHost", ["10.0.0.0/24", 0], "10.0.0.1"),
        (
            "parseCidr",
            ["10.144.0.0/20"],
            {
                "network": "10.144.0.0",
                "netmask": "255.255.240.0",
                "broadcast": "10.144.15.255",
                "firstUsable": "10.144.0.1",
                "lastUsable": "10.144.15.254",
                "cidr": 20,
            },
        ),
        (
            "managementGroupResourceId",
            ["mg1", "Microsoft.Authorization/policyDefinitions", "p"],
            "/providers/Microsoft.Management/managementGroups/mg1/providers/Microsoft.Authorization/policyDefinitions/p",
        ),
    ],
)
def test_known_arguments_give_azures_values(name: str, args: list[Any], expected: Any) -> None:
    assert call(name, *args) == expected


def test_lambda_functions_call_back() -> None:
    items = [{"name": "b", "n": 2}, {"name": "a", "n": 1}, {"name": "c", "n": 3}]
    assert call("filter", items, lambda x, i=0: x["n"] > 1) == [items[0], items[2]]
    assert call("map", items, lambda x, i=0: x["name"]) == ["b", "a", "c"]
    assert call("reduce", [1, 2, 3], 10, lambda acc, x, i=0: acc + x) == 16
    assert [i["name"] for i in call("sort", items, lambda a, b: a["n"] < b["n"])] == ["a", "b", "c"]
    assert call("toObject", items, lambda x: x["name"], lambda x: x["n"]) == {"b": 2, "a": 1, "c": 3}
    assert call("groupBy", ["ab", "ac", "b"], lambda x: x[0]) == {"a": ["ab", "ac"], "b": ["b"]}
    assert call("mapValues", {"a": 1}, lambda v: v * 2) == {"a": 2}
    assert call("filter", UNKNOWN, lambda x, i=0: True) is UNKNOWN
    assert call("filter", [1, 2], lambda x, i=0: UNKNOWN) is UNKNOWN


def test_deployment_time_functions_are_unknown() -> None:
    assert call("pickZones", "Microsoft.Compute", "virtualMachines", "westus2") is UNKNOWN
    assert call("deployer") is UNKNOWN
    assert is_runtime_function("listKeys") and is_runtime_function("listSecrets") and not is_runtime_function("length")


def test_unknown_arguments_give_unknown_results() -> None:
    assert call("base64", Unknown(label="x")) is UNKNOWN
    assert call("dateTimeAdd", UNKNOWN, "P1Y") is UNKNOWN
    assert call("tryGet", UNKNOWN, "a") is UNKNOWN


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("base64ToString", ["not base64!"]),
        ("padLeft", ["1", 10**9, "0"]),
        ("dateTimeAdd", ["2026-01-01T00:00:00Z", "P99999Y"]),
        ("dateTimeFromEpoch", [10**20]),
        ("cidrSubnet", ["10.0.0.0/16", 8, 0]),
        ("min", [[]]),
        ("filter", [list(range(20_000)), lambda x, i=0: True]),
    ],
)
def test_bad_arguments_are_library_errors_not_crashes(name: str, args: list[Any]) -> None:
    with pytest.raises(LibraryError):
        call(name, *args)
