"""Rotation policy columns come from one definition for REST/ARM/Bicep, the data plane and azurerm."""

from __future__ import annotations

import json

from kvaudit.scanner.fields import AZURERM, REST, Reader, rotation_columns
from tests.conftest import SHARED

EXAMPLE = SHARED / "azure-rest-examples" / "keyvault-keys"
EXPECTED = {
    "rotation_policy_present": True,
    "rotation_actions": ["Rotate", "Notify"],
    "rotation_time_after_create": "P90D",
    "rotation_expiry_time": "P1Y",
}
REST_POLICY = {
    "lifetimeActions": [
        {"trigger": {"timeAfterCreate": "P90D"}, "action": {"type": "rotate"}},
        {"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "notify"}},
    ],
    "attributes": {"expiryTime": "P1Y"},
}
AZURERM_BLOCK = [
    {"automatic": [{"time_after_creation": "P90D"}], "notify_before_expiry": "P30D", "expire_after": "P1Y"}
]


def test_the_same_policy_gives_the_same_columns_from_every_flavour() -> None:
    arm = rotation_columns({"properties": {"rotationPolicy": REST_POLICY}}, REST)
    dataplane = rotation_columns(None, REST, policy=REST_POLICY)
    terraform = rotation_columns({"rotation_policy": AZURERM_BLOCK}, AZURERM)
    assert arm.values == dataplane.values == terraform.values == EXPECTED
    assert arm.unresolved == dataplane.unresolved == terraform.unresolved == []


def test_the_official_rotation_policy_example_reads_as_rest() -> None:
    example = json.loads((EXAMPLE / "GetKeyRotationPolicy-example.json").read_text())
    body = example["responses"]["200"]["body"]
    filled = rotation_columns(None, REST, policy=body)
    assert filled.values["rotation_policy_present"] is True
    assert "Rotate" in filled.values["rotation_actions"]


def test_no_policy_is_absent_and_an_unevaluable_one_is_unknown() -> None:
    absent = rotation_columns({"properties": {}}, REST)
    assert absent.values == {
        "rotation_policy_present": False,
        "rotation_actions": [],
        "rotation_time_after_create": None,
        "rotation_expiry_time": None,
    }
    unknown_reader = Reader(is_unknown=lambda value: value == "?")
    unknown = rotation_columns({"properties": {"rotationPolicy": "?"}}, REST, unknown_reader)
    assert unknown.values == dict.fromkeys(EXPECTED)
    assert sorted(unknown.unresolved) == sorted(EXPECTED)
    # A block holding an unknown value is unknown as a whole: none of its columns is guessed.
    partly = rotation_columns({"rotation_policy": [{"automatic": "?", "expire_after": "P1Y"}]}, AZURERM, unknown_reader)
    assert partly.values == dict.fromkeys(EXPECTED)
