"""The plan front-end: ``terraform show -json`` output into the same instances as HCL.

A plan already holds evaluated values, so this module only has to (1) mark what the plan
says is unknown until apply (``after_unknown``), (2) recover references for those unknowns
from the ``configuration`` section (``azurerm_key_vault_key.k.id`` becomes a pinned
:class:`KeyRef` exactly as in HCL) and (3) drop provider-filled values the configuration never
set, so the shared mapping records them as documented defaults, as it does for HCL.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from kvaudit.scanner.errors import InputError
from kvaudit.scanner.fields import provider_defaulted_attributes
from kvaudit.scanner.iac.identity import Units, unit_of
from kvaudit.scanner.iac.terraform import is_terraform_plan
from kvaudit.scanner.iac.terraform.azure import computed_attribute
from kvaudit.scanner.iac.terraform.mapping import map_instances
from kvaudit.scanner.iac.terraform.module import Instance, relative
from kvaudit.scanner.iac.terraform.values import UNKNOWN
from kvaudit.scanner.inventory import Inventory, SourceInfo
from kvaudit.scanner.jsonio import MAX_BYTES, digest_bytes, load_json_bytes

#: Attributes the azurerm provider fills with a default at plan time; unset in configuration
#: they are recorded as defaults, as the HCL front-end does.
PROVIDER_DEFAULTED = provider_defaulted_attributes()

_INDEX = re.compile(r"\[[^\]]*\]")


def _mark_unknown(values: Any, unknown: Any) -> Any:
    """Overlay ``after_unknown`` (True where unknown) on planned values."""
    if unknown is True:
        return UNKNOWN
    if isinstance(unknown, dict):
        base = dict(values) if isinstance(values, dict) else {}
        for key, marker in unknown.items():
            base[key] = _mark_unknown(base.get(key), marker)
        return base
    if isinstance(unknown, list) and isinstance(values, list):
        return [_mark_unknown(v, unknown[i]) if i < len(unknown) else v for i, v in enumerate(values)]
    return values


def _module_path(address: str | None) -> str:
    """``module.a["x"].module.b`` -> ``module.a.module.b`` (configuration has no instance keys)."""
    return _INDEX.sub("", address or "")


def _config_modules(configuration: Any) -> dict[str, dict[str, Any]]:
    """Configuration module bodies by index-free module path ('' for root)."""
    found: dict[str, dict[str, Any]] = {}

    def walk(module: Any, path: str) -> None:
        if not isinstance(module, dict):
            return
        found[path] = module
        for name, call in (module.get("module_calls") or {}).items():
            if isinstance(call, dict):
                walk(call.get("module"), f"{path}.module.{name}" if path else f"module.{name}")

    if isinstance(configuration, dict):
        walk(configuration.get("root_module"), "")
    return found


class PlanReader:
    """Instances of one plan document."""

    def __init__(self, doc: dict[str, Any], origin: str, text: str):
        self.doc = doc
        self.origin = origin
        self.text = text
        self.config = _config_modules(doc.get("configuration"))
        self.environment = self._environment()
        changes = doc.get("resource_changes") or []
        self.unknown = {
            c.get("address"): (c.get("change") or {}).get("after_unknown") for c in changes if isinstance(c, dict)
        }
        self.instances: list[Instance] = []

    def _environment(self) -> str:
        providers = (self.doc.get("configuration") or {}).get("provider_config") or {}
        azurerm = providers.get("azurerm") if isinstance(providers, dict) else None
        expr = ((azurerm or {}).get("expressions") or {}).get("environment") or {}
        value = expr.get("constant_value") if isinstance(expr, dict) else None
        return value.lower() if isinstance(value, str) else "public"

    def read(self) -> list[Instance]:
        planned = (self.doc.get("planned_values") or {}).get("root_module")
        self._walk_module(planned)
        prior = ((self.doc.get("prior_state") or {}).get("values") or {}).get("root_module")
        seen = {i.address for i in self.instances}
        self._walk_module(prior, only_data=True, seen=seen)
        for inst in self.instances:
            self._resolve(inst)
        return self.instances

    def _walk_module(self, module: Any, only_data: bool = False, seen: set[str] | None = None) -> None:
        if not isinstance(module, dict):
            return
        for resource in module.get("resources") or []:
            if not isinstance(resource, dict) or not isinstance(resource.get("type"), str):
                continue
            mode = resource.get("mode", "managed")
            address = str(resource.get("address", ""))
            if only_data and (mode != "data" or address in (seen or set())):
                continue
            values = resource.get("values") if isinstance(resource.get("values"), dict) else {}
            values = _mark_unknown(values, self.unknown.get(address))
            self.instances.append(
                Instance(
                    type=resource["type"],
                    mode=mode,
                    address=address,
                    values=values,
                    file=self.origin,
                    line=self._line_of(address),
                    environment=self.environment,
                )
            )
        for child in module.get("child_modules") or []:
            self._walk_module(child, only_data, seen)

    def _line_of(self, address: str) -> int | None:
        """Line of the resource's ``"address"`` in the file: cheap, and useful when pretty-printed."""
        match = re.search(r'"address"\s*:\s*' + re.escape(json.dumps(address)), self.text)
        return self.text.count("\n", 0, match.start()) + 1 if match else None

    # --- references ----------------------------------------------------------------------

    def _config_of(self, inst: Instance) -> dict[str, Any] | None:
        prefix, local = split_address(inst.address)
        module = self.config.get(_module_path(prefix.rstrip(".")))
        if module is None:
            return None
        wanted = _module_path(local)
        for resource in module.get("resources") or []:
            if isinstance(resource, dict) and _module_path(resource.get("address")) == wanted:
                return resource
        return None

    def _resolve(self, inst: Instance) -> None:
        config = self._config_of(inst)
        if config is None:
            return
        expressions = config.get("expressions") or {}
        for key in list(inst.values):
            # Unset in configuration: a provider default, or computed by Azure at apply. Either
            # way the configuration leaves it out, exactly as the HCL front-end sees it.
            if key not in expressions and (key in PROVIDER_DEFAULTED or inst.values[key] is UNKNOWN):
                del inst.values[key]
        inst.values = self._fill(inst, inst.values, expressions)

    def _fill(self, inst: Instance, values: Any, expressions: Any) -> Any:
        if values is UNKNOWN and isinstance(expressions, dict) and "references" in expressions:
            return self._reference(inst, expressions["references"])
        if isinstance(values, dict) and isinstance(expressions, dict):
            return {k: self._fill(inst, v, expressions.get(k)) for k, v in values.items()}
        if isinstance(values, list) and isinstance(expressions, list):
            return [self._fill(inst, v, expressions[i] if i < len(expressions) else None) for i, v in enumerate(values)]
        return values

    def _reference(self, inst: Instance, references: Any) -> Any:
        """Value of the first reference naming a resource attribute (``type.name.attr``)."""
        prefix = _module_path(split_address(inst.address)[0])
        for ref in references if isinstance(references, list) else []:
            if not isinstance(ref, str):
                continue
            parts = _INDEX.sub("", ref).split(".")
            mode = "data" if parts[0] == "data" else "managed"
            parts = parts[1:] if mode == "data" else parts
            if len(parts) < 3 or parts[0] in ("var", "local", "module", "each", "count", "path"):
                continue
            rtype, name, attr = parts[0], parts[1], parts[2]
            targets = [
                t
                for t in self.instances
                if t.type == rtype
                and t.mode == mode
                and _module_path(t.address) == prefix + ("data." if mode == "data" else "") + f"{rtype}.{name}"
            ]
            if len(targets) != 1:
                continue
            target = targets[0]
            value = target.values.get(attr)
            if value is not None and value is not UNKNOWN:
                return value
            return computed_attribute(rtype, mode, target.values, attr, target.address, self.environment)
        return UNKNOWN


_MODULE_STEP = re.compile(r'module\.[^.\[]+(?:\[(?:"(?:[^"\\]|\\.)*"|\d+)\])?\.')


def split_address(address: str) -> tuple[str, str]:
    """``module.a["x"].azurerm_key_vault.k`` -> (``module.a["x"].``, ``azurerm_key_vault.k``)."""
    position = 0
    while match := _MODULE_STEP.match(address, position):
        position = match.end()
    return address[:position], address[position:]


def load_plans(paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    """Read each plan file and map it on its own.

    A plan file is one unit (one root module in one workspace): references resolve inside it
    only, and its ids carry its path (:mod:`scanner.iac.identity`), so the plans of two
    workspaces of one configuration give two sets of rows.
    """
    errors: list[InputError] = []
    units = Units()
    sources: list[SourceInfo] = []
    for path in paths:
        origin = relative(path, root)
        try:
            size = path.stat().st_size
            if size > MAX_BYTES:
                raise InputError(origin, f"file is {size} bytes, larger than the {MAX_BYTES}-byte limit")
            data = path.read_bytes()
            doc = load_json_bytes(data, origin)
            if not is_terraform_plan(doc):
                raise InputError(origin, "not a Terraform plan (expected `terraform show -json` output)")
            text = data.decode("utf-8-sig", errors="replace")
            instances = PlanReader(doc, origin, text).read()
        except InputError as exc:
            errors.append(exc)
            continue
        except OSError as exc:
            errors.append(InputError(origin, f"cannot read file: {exc.strerror or exc}"))
            continue
        except (RecursionError, TypeError, AttributeError, ValueError) as exc:
            errors.append(InputError(origin, f"malformed Terraform plan: {type(exc).__name__}"))
            continue
        sources.append(SourceInfo(kind="terraform-plan", location=origin, digest=digest_bytes(data)))
        units.add(unit_of(path, root), map_instances(instances, "terraform-plan").tables)
    return units.inventory(sources), errors
