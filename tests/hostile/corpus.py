"""The hostile-input corpus: at least one case for every class of input that broke a scan.

Classes follow the list of what was measured (hangs and blow-ups, tracebacks, silent skips and
wrong PASS, disclosure, injection, false errors). Every case is scanned beside a good,
misconfigured file by :mod:`tests.hostile.runner`, which checks the generic contract (exit code,
no traceback, one line per error, the good file's findings intact, time and memory); a case's
``check`` adds what is specific to it.
"""

from __future__ import annotations

import json
import re

from tests.hostile.runner import ARM_SCHEMA, Case, Outcome, Special

VAULT_TF = (
    'resource "azurerm_key_vault" "{label}" {{\n'
    '  name                       = "{name}"\n'
    '  location                   = "westeurope"\n'
    '  resource_group_name        = "rg"\n'
    '  tenant_id                  = "00000000-0000-0000-0000-000000000001"\n'
    '  sku_name                   = "standard"\n'
    "  soft_delete_retention_days = {days}\n"
    "}}\n"
)


def vault_tf(name: str, days: int) -> str:
    """A vault whose name may be an expression; its block label stays literal, as HCL requires."""
    return VAULT_TF.format(name=name, days=days, label=re.sub(r"[^\w-]", "_", name))


def arm(resources: object, **sections: object) -> str:
    return json.dumps({"$schema": ARM_SCHEMA, "contentVersion": "1.0.0.0", **sections, "resources": resources})


def arm_vault(name: str = "kv-bad", **props: object) -> dict[str, object]:
    return {
        "type": "Microsoft.KeyVault/vaults",
        "apiVersion": "2023-07-01",
        "name": name,
        "location": "westeurope",
        "properties": {"tenantId": "t", "sku": {"family": "A", "name": "standard"}, **props},
    }


def _fails(name: str, rule: str) -> object:
    def check(outcome: Outcome) -> None:
        assert rule in outcome.failing(name), f"{name} should FAIL {rule}, got {sorted(outcome.findings(name))}"

    return check


def _error_mentions(*words: str) -> object:
    def check(outcome: Outcome) -> None:
        errors = [line for line in outcome.stderr.splitlines() if line.startswith("kvaudit: error:")]
        assert any(all(w in line for w in words) for line in errors), f"no error mentioning {words}: {errors}"

    return check


def _no_secret(outcome: Outcome) -> None:
    everything = outcome.stderr + json.dumps(outcome.report) + "".join(outcome.outputs.values())
    for leaked in ("root:", "PATH=", "HOME=", "TOP-SECRET"):
        assert leaked not in everything, f"{leaked!r} from outside the tree reached the output"


def _clean_outputs(outcome: Outcome) -> None:
    for fmt, text in outcome.outputs.items():
        for bad in ("\x1b", "\u202e", "\u200b-", "\u2066"):
            assert bad not in text, f"{bad!r} reached the {fmt} output"
    # Markdown, and SARIF message texts, are rendered as Markdown by code-review UIs.
    for fmt, text in (("markdown", outcome.outputs.get("markdown", "")), ("sarif", _sarif_messages(outcome))):
        assert "](javascript" not in text and "](http" not in text and "https://evil" not in text, fmt
    csv = outcome.outputs.get("csv", "")
    for line in csv.splitlines():
        for cell in line.split(","):
            assert not cell.strip().strip('"').lstrip().startswith(("=", "+", "@")), f"formula cell {cell!r}"


def _sarif_messages(outcome: Outcome) -> str:
    """Every ``message`` text and markdown of a SARIF log, joined."""
    raw = outcome.outputs.get("sarif")
    if not raw:
        return ""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            message = node.get("message")
            if isinstance(message, dict):
                found.extend(str(message.get(k, "")) for k in ("text", "markdown"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(json.loads(raw))
    return "\n".join(found)


def _nested_copy(depth: int) -> dict[str, object]:
    inner: dict[str, object] = arm_vault("[concat('kv-copy-', copyIndex())]")
    inner["copy"] = {"name": "c0", "count": 800}
    for level in range(1, depth):
        inner = {
            "type": "Microsoft.Resources/deployments",
            "apiVersion": "2022-09-01",
            "name": f"[concat('d{level}-', copyIndex())]",
            "copy": {"name": f"c{level}", "count": 800},
            "properties": {
                "mode": "Incremental",
                "template": {"$schema": ARM_SCHEMA, "contentVersion": "1.0.0.0", "resources": [inner]},
            },
        }
    return inner


def _doubling_vars(count: int, step: str) -> dict[str, str]:
    variables = {"v0": "x" if "concat" in step else "[2]"}
    for i in range(1, count):
        variables[f"v{i}"] = step.format(p=f"variables('v{i - 1}')")
    return variables


def _deep(open_: str, close: str, depth: int, core: str) -> str:
    return open_ * depth + core + close * depth


def cases() -> list[Case]:
    out: list[Case] = []
    add = out.append

    # --- Hangs and blow-ups ----------------------------------------------------------------
    tf_ok = vault_tf("kv-tf-ok", 90)
    for kind, special in (("fifo", Special("fifo")), ("dev-zero", Special("symlink", "/dev/zero"))):
        add(Case("hang-special-file", f"tf-{kind}", "terraform", {"bad/main.tf": tf_ok, "bad/evil.tf": special}))
        add(Case("hang-special-file", f"tfvars-{kind}", "terraform", {"bad/main.tf": tf_ok, "bad/x.tfvars": special}))
    add(Case("blowup-arm", "copy-nested-4-deep", "arm", {"bad/t.json": arm([_nested_copy(4)])}, input_error=True))
    add(
        Case(
            "blowup-arm",
            "variable-doubling",
            "arm",
            {"bad/t.json": arm([arm_vault("[variables('v60')]")], variables=_doubling_vars(61, "[concat({p}, {p})]"))},
            input_error=True,
        )
    )
    add(
        Case(
            "blowup-arm",
            "mul-squaring",
            "arm",
            {
                "bad/t.json": arm(
                    [arm_vault("[string(variables('v40'))]")], variables=_doubling_vars(41, "[mul({p}, {p})]")
                )
            },
            input_error=True,
        )
    )
    add(
        Case(
            "blowup-bicep",
            "nested-loops",
            "bicep",
            {
                "bad/loops.bicep": "var xs = [for i in range(0, 2000): [for j in range(0, 2000): [for k in range(0, 2000): k]]]\n"
                "resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {\n  name: 'kv-${length(xs)}'\n  location: 'w'\n}\n"
            },
            input_error=True,
        )
    )
    fan = {"bad/main.bicep": "".join(f"module m{i} 'l1.bicep' = {{\n  name: 'm{i}'\n}}\n" for i in range(12))}
    for level in range(1, 8):
        fan[f"bad/l{level}.bicep"] = "".join(
            f"module m{i} 'l{level + 1}.bicep' = {{\n  name: 'm{i}'\n}}\n" for i in range(12)
        )
    fan["bad/l8.bicep"] = (
        "resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {\n  name: 'kv-fan'\n  location: 'w'\n}\n"
    )
    add(Case("blowup-bicep", "module-fan-out", "bicep", fan, args=["bad/main.bicep"], input_error=True))
    add(
        Case(
            "blowup-bicep",
            "long-line",
            "bicep",
            {"bad/long.bicep": "var x = " + " + ".join(["'a'"] * 40000) + "\n"},
        )
    )
    mod = {"bad/main.tf": 'module "m" {\n  source = "./m1"\n  count = 1000\n}\n'}
    for level in range(1, 6):
        mod[f"bad/m{level}/main.tf"] = f'module "m" {{\n  source = "../m{level + 1}"\n  count = 1000\n}}\n'
    mod["bad/m6/main.tf"] = vault_tf("kv-deep", 90)
    add(Case("blowup-terraform", "count-times-module-depth", "terraform", mod, input_error=True))
    add(
        Case(
            "blowup-terraform",
            "nested-for",
            "terraform",
            {
                "bad/main.tf": "locals {\n  x = [for i in range(1000) : [for j in range(1000) : [for k in range(1000) : k]]]\n}\n"
                + vault_tf("kv-${length(local.x)}", 90)
            },
            input_error=True,
        )
    )
    add(
        Case(
            "blowup-terraform",
            "range-1e7",
            "terraform",
            {"bad/main.tf": "locals {\n  x = range(10000000)\n}\n" + vault_tf("kv-${length(local.x)}", 90)},
            input_error=True,
        )
    )
    add(
        Case(
            "blowup-terraform",
            "format-width",
            "terraform",
            {"bad/main.tf": 'locals {\n  x = format("%999999999s", "x")\n}\n' + vault_tf("kv-${local.x}", 90)},
            input_error=True,
        )
    )
    # Each doubling is a join of the previous; a long chain of locals instead ends in a reference
    # nested too deeply, which (like any expression that cannot be evaluated) is an unknown field.
    joins = "".join(f'  j{i} = join("", [local.j{i - 1}, local.j{i - 1}])\n' for i in range(1, 16))
    add(
        Case(
            "blowup-terraform",
            "join-doubling",
            "terraform",
            {"bad/main.tf": 'locals {\n  j0 = "' + "x" * 100 + '"\n' + joins + "}\n" + vault_tf("kv-${local.j15}", 90)},
            input_error=True,
        )
    )
    add(
        Case(
            "blowup-distinct",
            "terraform-distinct-100k",
            "terraform",
            {
                "bad/main.tf": "locals {\n  x = distinct([for i in range(90000) : i])\n}\n"
                + vault_tf("kv-${length(local.x)}", 7)
            },
            check=_fails("kv-90000", "KV-REC-002"),
        )
    )
    add(
        Case(
            "blowup-distinct",
            "arm-union-large",
            "arm",
            {
                "bad/t.json": arm(
                    [
                        arm_vault(
                            "[string(length(union(range(0, 10000), range(5000, 10000))))]", softDeleteRetentionInDays=7
                        )
                    ]
                )
            },
            check=_fails("15000", "KV-REC-002"),
        )
    )
    add(
        Case(
            "blowup-snapshot",
            "billion-rows",
            "arm",
            {
                "bad/s.json": json.dumps(
                    {
                        "format": "kvaudit-snapshot",
                        "version": 1,
                        "created": "2026-01-01T00:00:00Z",
                        "scope": {},
                        "sources": [],
                        "suppressions": [],
                        "tables": {"vaults": {"rows": 1_000_000_000, "columns": {}}},
                    }
                )
            },
            input_error=True,
        )
    )
    add(Case("blowup-json-sniff", "200MB-data-file", "arm", {"bad/data.json": Special("big-json", "200000000")}))

    # --- Tracebacks ------------------------------------------------------------------------
    for fn in ("div", "mod"):
        add(
            Case(
                "traceback-arithmetic",
                f"arm-{fn}-by-zero",
                "arm",
                {"bad/t.json": arm([arm_vault(f"[string({fn}(1, 0))]")])},
                input_error=True,
            )
        )
    for op in ("/", "%"):
        add(
            Case(
                "traceback-arithmetic",
                f"bicep-{'div' if op == '/' else 'mod'}-by-zero",
                "bicep",
                {
                    "bad/z.bicep": f"resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {{\n  name: 'kv-${{1 {op} 0}}'\n  location: 'w'\n}}\n"
                },
                input_error=True,
            )
        )
        add(
            Case(
                "traceback-arithmetic",
                f"hcl-{'div' if op == '/' else 'mod'}-by-zero",
                "terraform",
                {"bad/main.tf": vault_tf(f"kv-${{1 {op} 0}}", 7)},
            )
        )
    huge = "9" * 5000
    add(
        Case(
            "traceback-huge-int",
            "arm-5000-digits",
            "arm",
            {"bad/t.json": arm([arm_vault(f"[string(add({huge}, 1))]")])},
            input_error=True,
        )
    )
    add(
        Case(
            "traceback-huge-int",
            "bicep-5000-digits",
            "bicep",
            {
                "bad/h.bicep": f"resource kv 'Microsoft.KeyVault/vaults@2023-07-01' = {{\n  name: 'kv-${{{huge} + 1}}'\n  location: 'w'\n}}\n"
            },
        )
    )
    add(
        Case(
            "traceback-huge-int",
            "hcl-5000-digits",
            "terraform",
            {"bad/main.tf": vault_tf("kv-huge", huge)},
        )
    )
    add(
        Case(
            "traceback-huge-int",
            "hcl-pow",
            "terraform",
            {"bad/main.tf": "locals {\n  x = pow(10, 100000000)\n}\n" + vault_tf("kv-${local.x}", 7)},
        )
    )
    for section, value in (("parameters", [1]), ("resources", 5), ("variables", "x"), ("outputs", [2])):
        doc = {"$schema": ARM_SCHEMA, "contentVersion": "1.0.0.0", "resources": [arm_vault()], section: value}
        add(Case("traceback-section-type", f"arm-{section}", "arm", {"bad/t.json": json.dumps(doc)}, input_error=True))
    deep = "[" + _deep("concat(", ")", 1000, "'x'") + "]"
    add(
        Case(
            "traceback-deep-expression",
            "arm-1000-deep",
            "arm",
            {"bad/t.json": arm([arm_vault(deep)])},
            input_error=True,
        )
    )
    add(
        Case(
            "traceback-deep-expression",
            "bicep-1000-deep",
            "bicep",
            {"bad/d.bicep": "var x = " + _deep("(", ")", 1000, "1") + "\n"},
            input_error=True,
        )
    )
    add(
        Case(
            "traceback-deep-expression",
            "hcl-1000-deep",
            "terraform",
            {"bad/main.tf": "locals {\n  x = " + _deep("(", ")", 1000, "1") + "\n}\n"},
            input_error=True,
        )
    )
    add(
        Case(
            "traceback-deep-expression",
            "arm-json-function",
            "arm",
            {"bad/t.json": arm([arm_vault("[string(json('" + "[" * 100000 + "'))]")])},
            input_error=True,
        )
    )
    for label, number in (("5000-digits", "9" * 5000), ("1e999", "1e999"), ("NaN", "NaN")):
        text = arm([arm_vault()]).replace('"location": "westeurope"', f'"location": "westeurope", "n": {number}')
        add(Case("traceback-json-number", f"arm-{label}", "arm", {"bad/t.json": text}, input_error=True))
        add(
            Case(
                "traceback-json-number",
                f"snapshot-{label}",
                "arm",
                {"bad/s.json": '{"format": "kvaudit-snapshot", "version": 1, "x": ' + number + "}"},
                input_error=True,
            )
        )
    snap = {
        "format": "kvaudit-snapshot",
        "version": 1,
        "created": "2026-01-01T00:00:00Z",
        "scope": {},
        "sources": [{"kind": "x", "location": "y", "digest": None, "extra": 1}],
        "suppressions": [],
        "tables": {},
    }
    add(Case("traceback-snapshot", "entry-extra-key", "arm", {"bad/s.json": json.dumps(snap)}, input_error=True))
    snap = {
        **snap,
        "sources": [],
        "tables": {"vaults": {"rows": 1, "columns": {"id": {"dictionary": ["a"], "codes": [10**20]}}}},
    }
    add(Case("traceback-snapshot", "dictionary-code-1e20", "arm", {"bad/s.json": json.dumps(snap)}, input_error=True))
    add(
        Case(
            "traceback-policy",
            "managed-hsm-string",
            "arm",
            {"p.toml": 'managed_hsm = "x"\n'},
            args=[],
            policy="p.toml",
            fatal=True,
            check=_error_mentions("p.toml:1", "managed_hsm"),
        )
    )

    # --- Silent skips and wrong PASS -------------------------------------------------------
    cyc = {
        "bad/a/main.tf": 'module "b" {\n  source = "../b"\n}\n',
        "bad/b/main.tf": 'module "a" {\n  source = "../a"\n}\n',
    }
    add(
        Case(
            "silent-module-cycle",
            "two-module-cycle",
            "terraform",
            cyc,
            input_error=True,
            check=_error_mentions("module cycle"),
        )
    )
    props = arm(
        [{**arm_vault("kv-capital"), "Properties": arm_vault()["properties"] | {"softDeleteRetentionInDays": 7}}]
    )
    props = props.replace('"properties": {"tenantId": "t", "sku": {"family": "A", "name": "standard"}}, ', "")
    add(
        Case(
            "silent-arm-case",
            "capital-Properties",
            "arm",
            {"bad/t.json": props},
            check=_fails("kv-capital", "KV-REC-002"),
        )
    )
    add(
        Case(
            "silent-override",
            "override-merges",
            "terraform",
            {
                "bad/main.tf": vault_tf("kv-over", 90).replace(
                    "}\n", '  network_acls {\n    default_action = "Deny"\n    bypass = "None"\n  }\n}\n'
                ),
                "bad/main_override.tf": 'resource "azurerm_key_vault" "kv-over" {\n  soft_delete_retention_days = 7\n}\n',
            },
            check=lambda o: (
                _fails("kv-over", "KV-REC-002")(o),
                _assert("KV-NET-002" not in o.failing("kv-over"), "override dropped network_acls"),
            ),
        )
    )
    # The directory also holds an (empty) .tf file: root-module discovery lists directories by
    # their *.tf files, so a directory of .tf.json files alone is not found yet.
    add(
        Case(
            "silent-tf-json",
            "tf-json-read",
            "terraform",
            {
                "bad/main.tf": "",
                "bad/vault.tf.json": json.dumps(
                    {
                        "resource": {
                            "azurerm_key_vault": {
                                "j": {
                                    "name": "kv-json",
                                    "location": "w",
                                    "resource_group_name": "rg",
                                    "tenant_id": "t",
                                    "sku_name": "standard",
                                    "soft_delete_retention_days": 7,
                                }
                            }
                        }
                    }
                ),
            },
            check=_fails("kv-json", "KV-REC-002"),
        )
    )
    for kind, special in (
        ("fifo", Special("fifo")),
        ("socket", Special("socket")),
        ("dangling", Special("symlink", "nowhere.json")),
    ):
        add(
            Case(
                "silent-explicit-special",
                f"explicit-{kind}",
                "arm",
                {f"bad/x-{kind}.json": special},
                args=[f"bad/x-{kind}.json"],
                input_error=True,
            )
        )
    add(Case("silent-explicit-special", "explicit-dev-zero", "arm", {}, args=["/dev/zero"], input_error=True))
    add(Case("silent-explicit-special", "explicit-dev-stdin", "arm", {}, args=["/dev/stdin"], input_error=True))
    dup = arm([arm_vault("kv-dup", softDeleteRetentionInDays=7)]).replace(
        '"softDeleteRetentionInDays": 7', '"softDeleteRetentionInDays": 7, "SoftDeleteRetentionInDays": 90'
    )
    add(
        Case(
            "silent-duplicate-key",
            "json-case-variant",
            "arm",
            {"bad/t.json": dup},
            input_error=True,
            check=_error_mentions("duplicate key", "SoftDeleteRetentionInDays"),
        )
    )
    add(
        Case(
            "silent-duplicate-key",
            "hcl-duplicate-attribute",
            "terraform",
            {"bad/main.tf": vault_tf("kv-dup", 7).replace("}\n", "  soft_delete_retention_days = 90\n}\n")},
            input_error=True,
            check=_error_mentions("duplicate attribute", "soft_delete_retention_days"),
        )
    )
    add(
        Case(
            "silent-policy-type",
            "min-retention-true",
            "arm",
            {"p.toml": "[rules.KV-REC-002]\nmin_retention_days = true\n"},
            args=[],
            policy="p.toml",
            fatal=True,
            check=_error_mentions("p.toml:2", "min_retention_days"),
        )
    )
    add(
        Case(
            "silent-policy-type",
            "mistyped-table",
            "arm",
            {"p.toml": "[rule.KV-REC-002]\nmin_retention_days = 30\n"},
            args=[],
            policy="p.toml",
            fatal=True,
            check=_error_mentions("p.toml:1", "rule"),
        )
    )
    add(
        Case(
            "silent-policy-type",
            "waiver-unknown-key",
            "arm",
            {
                "w.toml": '[[waivers]]\nrule = "KV-REC-002"\nresource = "*"\njustification = "j"\napprover = "a"\nexpires = 2030-01-01\nexpirs = 1\n'
            },
            env={},
            fatal=True,
            check=_error_mentions("w.toml:1", "expirs"),
        )
    )
    out[-1].args = ["--waivers", "w.toml"]

    # --- Disclosure ------------------------------------------------------------------------
    for target in ("../../../../../../../../etc/passwd", "/proc/self/environ", "../../outside-secret.bicep"):
        add(
            Case(
                "disclosure-bicep-module",
                target.rsplit("/", 1)[-1],
                "bicep",
                {
                    "bad/main.bicep": f"module m '{target}' = {{\n  name: 'm'\n}}\n",
                    "../outside-secret.bicep": "TOP-SECRET value\n",
                },
                args=["bad/main.bicep"],
                input_error=True,
                formats=("markdown", "sarif", "html"),
                check=_no_secret,
            )
        )
    add(
        Case(
            "disclosure-terraform-module",
            "module-source-outside",
            "terraform",
            {
                "bad/main.tf": 'module "m" {\n  source = "../../outside-tf"\n}\n',
                "../outside-tf/main.tf": vault_tf("TOP-SECRET", 7),
            },
            input_error=True,
            check=_no_secret,
        )
    )
    add(
        Case(
            "disclosure-symlink",
            "link-out-of-tree",
            "arm",
            {"outside.json": arm([arm_vault("TOP-SECRET")]), "bad/link.json": Special("symlink", "../outside.json")},
            check=_no_secret,
        )
    )

    # --- Injection -------------------------------------------------------------------------
    add(
        Case(
            "injection-escape",
            "esc-in-template",
            "arm",
            {"bad/t.json": arm([arm_vault("[concat('\u001b[2J\u001b[Hall clear', ]")])},
            input_error=True,
        )
    )
    add(
        Case(
            "injection-escape",
            "esc-in-file-name",
            "arm",
            {"bad/\u001b[2Jx.json": "{not json"},
            args=["bad/\u001b[2Jx.json"],
            input_error=True,
        )
    )
    add(
        Case(
            "injection-newline",
            "newline-in-file-name",
            "arm",
            {"bad/a\nkvaudit: fake.json": "{not json"},
            args=["bad/a\nkvaudit: fake.json"],
            input_error=True,
        )
    )
    add(
        Case(
            "injection-output",
            "bidi-zero-width-links",
            "arm",
            {
                "bad/t.json": arm(
                    [
                        arm_vault(n, softDeleteRetentionInDays=7)
                        for n in (
                            "kv\u202eevil",
                            "kv\u200b-zw",
                            "[x](javascript:alert(1))",
                            "see https://evil.example/x",
                            " =HYPERLINK(1)",
                            "@org/team \u2066x",
                        )
                    ]
                )
            },
            formats=("markdown", "csv", "junit", "sarif"),
            check=_clean_outputs,
        )
    )

    # --- False error -----------------------------------------------------------------------
    interp = "locals {\n" + "".join(f'  v{i} = "${{var.a}}-${{var.b}}"\n' for i in range(100)) + "}\n"
    add(
        Case(
            "false-error",
            "many-interpolations",
            "terraform",
            {
                "bad/main.tf": 'variable "a" {\n  default = "x"\n}\nvariable "b" {\n  default = "y"\n}\n'
                + interp
                + vault_tf("kv-interp", 7)
            },
            check=_fails("kv-interp", "KV-REC-002"),
        )
    )
    return out


def _assert(condition: bool, message: str) -> None:
    assert condition, message
