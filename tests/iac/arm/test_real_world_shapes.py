"""ARM shapes found in real-world templates: exact inventory rows, and unknown where ARM decides.

Fixtures in ``tests/fixtures/arm`` are written for these tests, modelled on public templates:
Azure Verified Modules' compiled ``main.json`` (languageVersion 2.0, ``definitions``, nullable
parameters, lambdas, inner-scope module deployments with ``variables.copy``), the quickstart
``key-vault-create`` template and its parameter file, and deployments stored in the wrapper
shape that ``az deployment`` and the deployments REST API use.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kvaudit.scanner.fields import BOOL, INT, UNRESOLVED, scalar_from_text
from kvaudit.scanner.iac.arm import deployment_wrapper, load_arm
from kvaudit.scanner.iac.arm.expressions import Evaluator, ExpressionError
from kvaudit.scanner.iac.arm.functions import DeploymentScope
from kvaudit.scanner.iac.arm.values import UNKNOWN, Unknown
from kvaudit.scanner.sources import _classify_json

ROOT = Path(__file__).resolve().parents[3]
FIX = ROOT / "tests" / "fixtures" / "arm"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
NET = "/subscriptions/00000000-0000-0000-0000-000000000001/resourcegroups/rg-net/providers/microsoft.network"


def rg(relative: str) -> str:
    """The placeholder resource group of one template unit (its path, percent-encoded)."""
    return f"/subscriptions/iac~{relative.replace('/', '%2f')}/resourcegroups/iac"


def vault_id(relative: str, name: str) -> str:
    return f"{rg(relative)}/providers/microsoft.keyvault/vaults/{name}"


def load(*names: str) -> tuple[dict[str, list[dict]], list[str]]:
    inv, errors = load_arm([FIX / n for n in names], ROOT)
    tables = {}
    for table, df in inv.tables.items():
        tables[table] = df.astype(object).where(df.notna(), None).to_dict("records")
    return tables, [str(e) for e in errors]


def by_name(records: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in records}


# --- 1. lambdas and languageVersion 2.0 ----------------------------------------------------------


def test_avm_shaped_template_evaluates_lambdas() -> None:
    tables, errors = load("avm_lambdas.json")
    assert errors == []
    (vault,) = tables["vaults"]
    kv = vault_id("tests/fixtures/arm/avm_lambdas.json", "kv-avm-lambda")
    assert vault["id"] == kv
    assert vault["ip_rules"] == ["203.0.113.0/24", "198.51.100.7"]  # filter, then map
    assert vault["virtual_network_rules"] == [  # nested lambdas read the outer lambda's variable
        f"{NET}/virtualnetworks/vnet-hub/subnets/snet-app",
        f"{NET}/virtualnetworks/vnet-hub/subnets/snet-data",
        f"{NET}/virtualnetworks/vnet-spoke/subnets/snet-aks",
    ]
    assert vault["network_default_action"] == "Deny"  # reduce counted five rules
    assert vault["soft_delete_retention_days"] == 14  # first(sort(...))
    assert vault["tags"] == {"env": "prod", "costCenter": "4711"}  # toObject with a value lambda
    # Nullable parameters left out are null, as ARM binds them: no private endpoints, so the
    # AVM expression leaves publicNetworkAccess out and the platform default applies.
    assert vault["public_network_access"] == "Enabled" and vault["defaults"] == ["public_network_access"]
    assert vault["unresolved"] == ["location", "tenant_id"]
    policies = sorted(tables["access_policies"], key=lambda p: p["object_id"])
    assert [(p["object_id"], p["key_permissions"], p["secret_permissions"]) for p in policies] == [
        ("11111111-1111-1111-1111-111111111111", ["get", "wrapKey", "unwrapKey"], []),
        ("33333333-3333-3333-3333-333333333333", [], ["get"]),
    ]
    (key,) = tables["keys"]  # a key of an `existing` vault: the vault itself is no row
    assert key["vault_id"] == vault_id("tests/fixtures/arm/avm_lambdas.json", "kv-shared")
    assert (key["key_size"], key["key_ops"]) == (4096, ["wrapKey", "unwrapKey"])
    (diag,) = tables["diagnostic_settings"]
    assert diag["target_id"] == kv
    assert [(log["category_group"], log["enabled"]) for log in diag["logs"]] == [("audit", True), ("allLogs", True)]


@pytest.fixture
def ev() -> Evaluator:
    params = {"items": [{"n": 2, "name": "b"}, {"n": 1, "name": "a"}], "unknown": UNKNOWN}
    return Evaluator(DeploymentScope(), {"parameters": lambda args: params[args[0]]})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[filter(parameters('items'), lambda('x', greater(lambdaVariables('x').n, 1)))]", [{"n": 2, "name": "b"}]),
        ("[map(parameters('items'), lambda('x', 'i', concat(lambdaVariables('x').name, string(lambdaVariables('i')))))]", ["b0", "a1"]),
        ("[reduce(parameters('items'), 10, lambda('acc', 'x', add(lambdaVariables('acc'), lambdaVariables('x').n)))]", 13),
        ("[map(sort(parameters('items'), lambda('a', 'b', less(lambdaVariables('a').n, lambdaVariables('b').n))), lambda('x', lambdaVariables('x').name))]", ["a", "b"]),
        ("[toObject(parameters('items'), lambda('x', lambdaVariables('x').name))]", {"b": {"n": 2, "name": "b"}, "a": {"n": 1, "name": "a"}}),
        ("[map(createArray(1, 2), lambda('x', map(createArray(10, 20), lambda('y', add(lambdaVariables('x'), lambdaVariables('y'))))))]", [[11, 21], [12, 22]]),
        ("[map(createArray(1), lambda('x', map(createArray(5), lambda('x', lambdaVariables('X')))))]", [[5]]),
    ],
)
def test_lambda_functions(ev: Evaluator, text: str, expected: object) -> None:
    assert ev.evaluate_string(text) == expected


def test_lambdas_over_unknowns_stay_unknown(ev: Evaluator) -> None:
    assert ev.evaluate_string("[filter(parameters('unknown'), lambda('x', true()))]") is UNKNOWN
    assert ev.evaluate_string("[map(createArray(1, parameters('unknown')), lambda('x', lambdaVariables('x')))]") == [1, UNKNOWN]
    assert ev.evaluate_string("[filter(createArray(1, parameters('unknown')), lambda('x', equals(lambdaVariables('x'), 1)))]") is UNKNOWN
    assert ev.evaluate_string("[sort(createArray(2, parameters('unknown')), lambda('a', 'b', less(lambdaVariables('a'), lambdaVariables('b'))))]") is UNKNOWN
    assert ev.evaluate_string("[toObject(createArray(parameters('unknown')), lambda('x', lambdaVariables('x')))]") is UNKNOWN


@pytest.mark.parametrize(
    "text",
    [
        "[lambdaVariables('x')]",
        "[map(createArray(1), lambda(concat('x'), lambdaVariables('x')))]",
        "[map(createArray(1), lambda('x', lambdaVariables('y')))]",
        "[sort(createArray(1, 2), lambda('a', 'b', 'c', true()))]",
        "[map(createArray(1), lambda())]",
    ],
)
def test_malformed_lambdas_are_expression_errors(ev: Evaluator, text: str) -> None:
    with pytest.raises(ExpressionError):
        ev.evaluate_string(text)


# --- 2. the deployment-wrapper shape -------------------------------------------------------------


def test_wrapped_deployment_reads_its_template_and_parameters() -> None:
    tables, errors = load("wrapper/kv-deployment.json")
    assert errors == []
    (vault,) = tables["vaults"]
    assert vault["id"] == vault_id("tests/fixtures/arm/wrapper/kv-deployment.json", "kv-exported-01")
    assert vault["ip_rules"] == ["192.0.2.0/24"]  # the wrapper's parameter value, via property copy
    assert vault["purge_protection_enabled"] is False and "purge_protection_enabled" in vault["defaults"]
    assert (vault["file"], vault["line"]) == ("tests/fixtures/arm/wrapper/kv-deployment.json", 20)
    assert vault["unresolved"] == []


def test_linked_template_or_parameters_give_a_notice_never_a_silent_pass(capsys: pytest.CaptureFixture[str]) -> None:
    tables, errors = load("wrapper/linked-deployment.json", "wrapper/params-linked-deployment.json")
    assert errors == []
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "kvaudit: notice: tests/fixtures/arm/wrapper/linked-deployment.json:2: the linked template "
        "https://raw.githubusercontent.com/Azure/azure-quickstart-templates/master/quickstarts/"
        "microsoft.keyvault/key-vault-create/azuredeploy.json is not followed; what it holds is not judged",
        "kvaudit: notice: tests/fixtures/arm/wrapper/params-linked-deployment.json:2: the linked parameters "
        "https://example.blob.core.windows.net/templates/kv.parameters.json is not followed; what it holds is not judged",
    ]
    (vault,) = tables["vaults"]
    # The linked parameter file may override the default: the value is unknown, not true.
    assert vault["name"] == "kv-params-linked" and vault["purge_protection_enabled"] is None
    assert vault["unresolved"] == ["purge_protection_enabled"]


def test_wrapper_detection_is_strict() -> None:
    assert _classify_json(FIX / "wrapper" / "kv-deployment.json", explicit=True) == "arm"
    assert _classify_json(FIX / "wrapper" / "linked-deployment.json", explicit=True) == "arm"
    assert _classify_json(FIX / "wrapper" / "not-a-deployment.json", explicit=False) is None
    assert deployment_wrapper({"properties": {"template": {"type": "object"}}}) is None
    assert deployment_wrapper({"properties": {"templateLink": {"uri": "x"}}}) is None  # no mode
    assert deployment_wrapper({"properties": "x"}) is None
    tables, errors = load("wrapper/not-a-deployment.json")
    assert errors == [] and tables["vaults"] == []


# --- 3. nested templates: inner and outer scope --------------------------------------------------


def test_nested_template_scopes(capsys: pytest.CaptureFixture[str]) -> None:
    tables, errors = load("nested_scopes.json")
    assert errors == []
    vaults = by_name(tables["vaults"])
    assert sorted(vaults) == ["kv-contoso-inner", "kv-contoso-outer", "kv-reads-parent-variable"]
    outer = vaults["kv-contoso-outer"]  # outer scope: the parent's variables and parameters win
    assert outer["tags"] == {"note": "visible to outer scope only"}
    assert outer["soft_delete_retention_days"] == 90 and outer["unresolved"] == []
    inner = vaults["kv-contoso-inner"]  # inner scope: values come only through `parameters`
    assert inner["soft_delete_retention_days"] == 30  # an entry that is an expression
    assert inner["tags"] == {"prefixSeen": "inner-default"}  # the parent's prefix is not seen
    assert (inner["sku"], inner["purge_protection_enabled"]) == ("premium", True)
    assert inner["tenant_id"] is None and inner["unresolved"] == ["tenant_id"]  # a Key Vault reference
    stray = vaults["kv-reads-parent-variable"]  # inner scope cannot see the parent's variables
    assert stray["sku"] is None and stray["unresolved"] == ["sku"]
    assert capsys.readouterr().err == (
        "kvaudit: notice: tests/fixtures/arm/nested_scopes.json:95: the linked template "
        "modules/keyvault.json is not followed; what it holds is not judged\n"
    )


# --- 4. variables.copy and property copy ---------------------------------------------------------


def test_variable_and_property_copy_loops() -> None:
    tables, errors = load("copy_loops.json")
    assert errors == []
    vaults = by_name(tables["vaults"])
    main = vaults["kv-copy-loops"]
    assert main["ip_rules"] == ["203.0.113.10", "203.0.113.11", "203.0.113.12"]
    assert main["virtual_network_rules"] == [
        f"{NET}/virtualnetworks/vnet-hub/subnets/snet-1",
        f"{NET}/virtualnetworks/vnet-hub/subnets/snet-2",
    ]
    assert main["unresolved"] == []
    policies = sorted(tables["access_policies"], key=lambda p: p["object_id"])
    assert [(p["object_id"], p["key_permissions"]) for p in policies] == [
        ("aaaaaaaa-0000-0000-0000-00000000000a", ["get", "list"]),
        ("bbbbbbbb-0000-0000-0000-00000000000b", ["get", "wrapKey", "unwrapKey"]),
    ]
    keys = by_name(tables["keys"])
    assert (keys["cmk-1"]["key_size"], keys["cmk-1"]["key_ops"]) == (2048, ["wrapKey", "unwrapKey"])
    assert (keys["cmk-2"]["key_size"], keys["cmk-2"]["key_ops"]) == (4096, ["sign", "verify"])
    unknown = vaults["kv-unknown-count"]  # a copy count that is a parameter without a value
    assert unknown["ip_rules"] is None and unknown["unresolved"] == ["ip_rules"]


def test_variable_copy_errors_are_one_line(tmp_path: Path) -> None:
    template = (
        '{"$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",'
        ' "contentVersion": "1.0.0.0", "variables": {"copy": [{"name": "loop", "count": -1, "input": 1},'
        ' {"name": "self", "count": 1, "input": "[variables(\'self\')]"}]},'
        ' "resources": [{"type": "Microsoft.KeyVault/vaults", "apiVersion": "2023-07-01", "name": "kv",'
        ' "location": "x", "tags": "[variables(\'loop\')]", "properties": {"sku": {"name": "[variables(\'self\')]"}}}]}'
    )
    (tmp_path / "t.json").write_text(template)
    inv, errors = load_arm([tmp_path / "t.json"], tmp_path)
    assert errors == []
    (vault,) = inv.tables["vaults"].to_dict("records")
    assert sorted(vault["unresolved"]) == ["sku", "tags"]


# --- 5 and 6. case-insensitive names, scalars given as strings -----------------------------------


def test_property_names_ignore_case_and_text_scalars_read_as_the_provider_reads_them() -> None:
    tables, errors = load("case_and_text_scalars.json")
    assert errors == []
    vaults = by_name(tables["vaults"])
    mixed = vaults["kv-MixedCase"]
    assert mixed["sku"] == "premium" and mixed["tenant_id"] == TENANT
    assert (mixed["purge_protection_enabled"], mixed["soft_delete_enabled"]) == (True, True)
    assert (mixed["soft_delete_retention_days"], mixed["rbac_authorization_enabled"]) == (30, False)
    assert (mixed["public_network_access"], mixed["network_default_action"]) == ("Disabled", "Deny")
    assert mixed["ip_rules"] == ["192.0.2.1"] and mixed["tags"] == {"Env": "prod"}
    assert mixed["defaults"] is None and mixed["unresolved"] == []
    (policy,) = tables["access_policies"]
    assert policy["key_permissions"] == ["Get", "UnwrapKey", "WrapKey"]
    (key,) = tables["keys"]  # a child resource spelled "Resources" / "Type": "keys"
    assert key["vault_id"] == mixed["id"] and key["name"] == "cmk"
    assert (key["key_size"], key["enabled"], key["exportable"]) == (3072, False, False)
    assert key["unresolved"] == [] and key["defaults"] is None
    (diag,) = tables["diagnostic_settings"]
    assert diag["target_id"] == mixed["id"]
    assert diag["logs"] == [{"category": "AuditEvent", "category_group": None, "enabled": True, "retention_days": None}]
    bad = vaults["kv-bad-text"]  # ARM refuses these: unknown, never guessed
    assert (bad["purge_protection_enabled"], bad["soft_delete_retention_days"], bad["rbac_authorization_enabled"]) == (
        None,
        None,
        None,
    )
    assert bad["unresolved"] == ["purge_protection_enabled", "rbac_authorization_enabled", "soft_delete_retention_days"]


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("true", BOOL, True),
        ("False", BOOL, False),
        (" TRUE ", BOOL, True),
        ("1", BOOL, UNRESOLVED),
        ("yes", BOOL, UNRESOLVED),
        ("30", INT, 30),
        (" -7 ", INT, -7),
        ("+90", INT, 90),
        ("30.0", INT, UNRESOLVED),
        ("1_000", INT, UNRESOLVED),
        ("", INT, UNRESOLVED),
    ],
)
def test_scalar_from_text(text: str, kind: str, expected: object) -> None:
    assert scalar_from_text(text, kind) is expected if isinstance(expected, bool) else scalar_from_text(text, kind) == expected


# --- 7. resource ids and deployment-time functions -----------------------------------------------


def test_resource_id_forms_join_and_deployment_time_values_stay_unknown() -> None:
    tables, errors = load("resource_ids.json")
    assert errors == []
    kv = vault_id("tests/fixtures/arm/resource_ids.json", "kv-ids")
    (vault,) = tables["vaults"]
    assert vault["id"] == kv
    # deployer(), list*(), reference() and utcNow() (here a parameter default) are unknown.
    assert vault["unresolved"] == ["public_network_access", "purge_protection_enabled", "tags", "tenant_id"]
    assignments = sorted(tables["role_assignments"], key=lambda r: r["role_name"])
    assert [(r["vault_id"], r["role_name"], r["principal_id"]) for r in assignments] == [
        (kv, "Key Vault Administrator", None),  # principalId: deployer().objectId
        (kv, "Key Vault Crypto User", "dddddddd-0000-0000-0000-00000000000d"),
    ]
    assert assignments[0]["unresolved"] == ["principal_id"]
    assert assignments[0]["id"].endswith("/roleassignments/{unknown}")  # newGuid(): no name
    (endpoint,) = tables["private_endpoints"]  # subscription().subscriptionId + resourceGroup().name
    assert endpoint["target_id"] == kv


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[resourceId('Microsoft.KeyVault/vaults/', 'kv')]", "/subscriptions/iac/resourceGroups/iac/providers/Microsoft.KeyVault/vaults/kv"),
        ("[resourceId('Microsoft.KeyVault/vaults/keys/', 'kv', 'k')]", "/subscriptions/iac/resourceGroups/iac/providers/Microsoft.KeyVault/vaults/kv/keys/k"),
        ("[resourceId('Microsoft.KeyVault/vaults/keys', 'kv/k')]", "/subscriptions/iac/resourceGroups/iac/providers/Microsoft.KeyVault/vaults/kv/keys/k"),
        ("[resourceId('rg2', 'Microsoft.KeyVault/vaults', 'kv')]", "/subscriptions/iac/resourceGroups/rg2/providers/Microsoft.KeyVault/vaults/kv"),
        ("[resourceId(subscription().subscriptionId, resourceGroup().name, 'Microsoft.KeyVault/vaults', 'kv')]", "/subscriptions/iac/resourceGroups/iac/providers/Microsoft.KeyVault/vaults/kv"),
        ("[subscriptionResourceId('sub2', 'Microsoft.Authorization/roleDefinitions/', 'r')]", "/subscriptions/sub2/providers/Microsoft.Authorization/roleDefinitions/r"),
        ("[tenantResourceId('Microsoft.Authorization/policyDefinitions/', 'p')]", "/providers/Microsoft.Authorization/policyDefinitions/p"),
        ("[extensionResourceId(resourceId('Microsoft.KeyVault/vaults', 'kv'), 'Microsoft.Authorization/roleAssignments/', 'ra')]", "/subscriptions/iac/resourceGroups/iac/providers/Microsoft.KeyVault/vaults/kv/providers/Microsoft.Authorization/roleAssignments/ra"),
    ],
)
def test_resource_id_forms(text: str, expected: str) -> None:
    assert Evaluator(DeploymentScope(), {}).evaluate_string(text) == expected


@pytest.mark.parametrize(
    "text",
    ["[utcNow()]", "[newGuid()]", "[deployer().objectId]", "[listKeys('st', '2023-01-01').keys[0].value]", "[listSecrets('x', '2023-01-01')]"],
)
def test_deployment_time_functions_are_unknown(text: str) -> None:
    value = Evaluator(DeploymentScope(), {}).evaluate_string(text)
    assert isinstance(value, Unknown)


# --- 8. parameter files --------------------------------------------------------------------------


def test_parameter_file_values_and_key_vault_references() -> None:
    tables, errors = load("params/azuredeploy.json")
    assert errors == []
    (vault,) = tables["vaults"]  # the parameter file beside the template is found by name
    assert vault["id"] == vault_id("tests/fixtures/arm/params/azuredeploy.json", "kv-params-prod")
    assert (vault["sku"], vault["soft_delete_retention_days"]) == ("premium", 14)
    # Key Vault references are never read: the value is unknown, not the template's default.
    assert vault["tenant_id"] is None and vault["ip_rules"] is None
    assert vault["unresolved"] == ["ip_rules", "tenant_id"]


def test_retention_of_another_type_is_unresolved_not_absent() -> None:
    from kvaudit.scanner.fields import REST, fill

    filled = fill("vaults", {"properties": {"softDeleteRetentionInDays": True}}, REST, "vault")
    assert filled.values["soft_delete_retention_days"] is None
    assert "soft_delete_retention_days" in filled.unresolved


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # AVM modules guard optional properties this way; ARM stops at the first decisive value.
        ("[and(contains(parameters('items')[0], 'enabled'), parameters('items')[0].enabled)]", False),
        ("[or(not(contains(parameters('items')[0], 'enabled')), parameters('items')[0].enabled)]", True),
        ("[and(true(), true(), false())]", False),
        ("[or(false(), false())]", False),
        ("[and(parameters('unknown'), false())]", False),
        ("[and(parameters('unknown'), parameters('items')[0].enabled)]", UNKNOWN),
        ("[or(parameters('unknown'), false())]", UNKNOWN),
    ],
)
def test_and_or_short_circuit(ev: Evaluator, text: str, expected: object) -> None:
    assert ev.evaluate_string(text) is expected


def test_and_of_a_missing_property_without_a_guard_is_an_error(ev: Evaluator) -> None:
    with pytest.raises(ExpressionError):
        ev.evaluate_string("[and(true(), parameters('items')[0].enabled)]")
    assert ev.evaluate_string("[and(true(), 'yes')]") is UNKNOWN  # not a boolean: not decided
    assert ev.evaluate_string("[or(null(), true())]") is True


def _template(**sections: object) -> dict:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/deploymentTemplate.json#",
        "languageVersion": "2.0",
        "contentVersion": "1.0.0.0",
        **sections,
    }


def test_user_defined_functions(tmp_path: Path) -> None:
    """Bicep ``func`` declarations compile to a ``functions`` section called as ``__bicep.name()``
    (AVM's sub-vending and ai-foundry modules); a function sees only its own parameters."""
    import json

    template = _template(
        functions=[
            {
                "namespace": "__bicep",
                "members": {
                    "vaultName": {
                        "parameters": [{"type": "string", "name": "workload"}, {"type": "string", "name": "env"}],
                        "output": {"type": "string", "value": "[format('kv-{0}-{1}', parameters('workload'), __bicep.short(parameters('env')))]"},
                    },
                    "short": {
                        "parameters": [{"type": "string", "name": "env"}],
                        "output": {"type": "string", "value": "[substring(parameters('env'), 0, 4)]"},
                    },
                    "leaky": {
                        "parameters": [],
                        "output": {"type": "string", "value": "[parameters('workload')]"},
                    },
                    "loop": {"parameters": [], "output": {"type": "int", "value": "[__bicep.loop()]"}},
                    "rules": {
                        "parameters": [{"type": "array", "name": "cidrs"}],
                        "output": {"type": "array", "value": "[map(parameters('cidrs'), lambda('c', createObject('value', lambdaVariables('c'))))]"},
                    },
                },
            }
        ],
        parameters={"workload": {"type": "string", "defaultValue": "payments"}},
        resources={
            "kv": {
                "type": "Microsoft.KeyVault/vaults",
                "apiVersion": "2023-07-01",
                "name": "[__bicep.vaultName(parameters('workload'), 'production')]",
                "location": "westeurope",
                "properties": {
                    "tenantId": TENANT,
                    "sku": {"family": "A", "name": "[__bicep.leaky()]"},
                    "softDeleteRetentionInDays": "[__bicep.loop()]",
                    "networkAcls": {"defaultAction": "Deny", "ipRules": "[__bicep.rules(createArray('192.0.2.0/24'))]"},
                },
            }
        },
    )
    (tmp_path / "main.json").write_text(json.dumps(template))
    inv, errors = load_arm([tmp_path / "main.json"], tmp_path)
    assert errors == []
    (vault,) = inv.tables["vaults"].to_dict("records")
    assert vault["name"] == "kv-payments-prod"
    assert vault["ip_rules"] == ["192.0.2.0/24"]
    # A function reading a template parameter, or one that never ends, is not evaluated.
    assert sorted(vault["unresolved"]) == ["sku", "soft_delete_retention_days"]
