"""ARM expression evaluator: exact values, and unknown (never a guess) where ARM decides at deploy."""

from __future__ import annotations

import pytest

from kvaudit.scanner.iac.arm.expressions import Evaluator, ExpressionError, parse_expression, tokenize
from kvaudit.scanner.iac.arm.functions import DeploymentScope
from kvaudit.scanner.iac.arm.values import UNKNOWN, Partial, RuntimeObject, Unknown

PARAMS = {"name": "kv1", "count": 3, "list": ["a", "b"], "obj": {"Inner": {"x": 1}}}


@pytest.fixture
def ev() -> Evaluator:
    return Evaluator(DeploymentScope(), {"parameters": lambda args: PARAMS[args[0]]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[concat('a', parameters('name'), 'b')]", "akv1b"),
        ("[format('{0}-{1}', 'x', 7)]", "x-7"),
        ("[format('{{{0}}}', 'y')]", "{y}"),
        ("[toLower('ABC')]", "abc"),
        ("[toUpper('abc')]", "ABC"),
        ("[string(true())]", "True"),
        ("[bool('false')]", False),
        ("[int('42')]", 42),
        ("[if(equals(parameters('count'), 3), 'yes', 'no')]", "yes"),
        ("[not(empty(parameters('list')))]", True),
        ("[and(true(), false())]", False),
        ("[or(false(), true())]", True),
        ("[length(parameters('list'))]", 2),
        ("[contains(parameters('list'), 'b')]", True),
        ("[replace('a-b', '-', '_')]", "a_b"),
        ("[coalesce(null(), 'z')]", "z"),
        ("[union(createObject('a', 1), createObject('b', 2))]", {"a": 1, "b": 2}),
        ("[createArray(1, 2)]", [1, 2]),
        ("[json('{\"k\": [1, 2]}').k[1]]", 2),
        ("[last(split('a/b/c', '/'))]", "c"),
        ("[first(parameters('list'))]", "a"),
        ("[substring('abcdef', 1, 3)]", "bcd"),
        ("[parameters('obj').inner.x]", 1),
        ("[subscription().id]", "/subscriptions/iac"),
        ("[[not an expression]", "[not an expression]"),
        ("plain", "plain"),
        (
            "[resourceId('Microsoft.KeyVault/vaults/keys', parameters('name'), 'k')]",
            "/subscriptions/iac/resourceGroups/iac/providers/Microsoft.KeyVault/vaults/kv1/keys/k",
        ),
        (
            "[resourceId('sub1', 'rg1', 'Microsoft.KeyVault/vaults', 'v')]",
            "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.KeyVault/vaults/v",
        ),
        (
            "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'abc')]",
            "/subscriptions/iac/providers/Microsoft.Authorization/roleDefinitions/abc",
        ),
    ],
)
def test_known_values(ev: Evaluator, text: str, expected: object) -> None:
    assert ev.evaluate_string(text) == expected


def test_unknowns_stay_unknown(ev: Evaluator) -> None:
    # Hashes of known text are computed as Azure computes them; of an unknown scope, labelled.
    assert ev.evaluate_string("[uniqueString('abc')]") == "cgtzqvhu4i23s"
    assert ev.evaluate_string("[uniqueString(resourceGroup().id)]") == Unknown(
        label="uniqueString('/subscriptions/iac/resourceGroups/iac')"
    )
    assert ev.evaluate_string("[guid(utcNow(), 'b')]") == UNKNOWN
    assert ev.evaluate_string("[resourceGroup().location]") == Unknown(label="resourceGroup().location")
    assert ev.evaluate_string("[subscription().tenantId]") == Unknown(label="subscription().tenantId")
    assert ev.evaluate_string("[equals(resourceGroup().location, 'x')]") == UNKNOWN
    assert ev.evaluate_string("[if(equals(utcNow(), 'x'), 'a', 'b')]") == UNKNOWN
    # a known false short-circuits and() even when the other side is unknown
    assert ev.evaluate_string("[and(false(), equals(utcNow(), 'x'))]") is False


def test_partial_strings_keep_known_text(ev: Evaluator) -> None:
    value = ev.evaluate_string("[toLower(concat('KV-', uniqueString(resourceGroup().id)))]")
    assert value == Partial(("kv-", Unknown(label="uniqueString('/subscriptions/iac/resourceGroups/iac')")))


def test_reference_properties_remember_the_resource() -> None:
    ev = Evaluator(DeploymentScope(), {"reference": lambda args: RuntimeObject(args[0].lower())})
    value = ev.evaluate_string("[concat(reference('/x/vaults/v').vaultUri, 'keys/k')]")
    assert value == Partial((Unknown(ref=("vaultUri", "/x/vaults/v")), "keys/k"))


def test_tokenizer_unescapes_quotes() -> None:
    assert tokenize("concat('it''s', 1)") == [
        ("ident", "concat"),
        ("punct", "("),
        ("string", "it's"),
        ("punct", ","),
        ("number", 1),
        ("punct", ")"),
    ]


@pytest.mark.parametrize("text", ["concat('a'", "concat('a') extra", "'a'.", "concat(,)", "#"])
def test_malformed_expressions_raise(text: str) -> None:
    with pytest.raises(ExpressionError):
        parse_expression(text)
