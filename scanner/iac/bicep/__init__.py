"""Bicep files -> the inventory, through pycep-parser and the shared ARM mapping.

Entry point for the CLI: :func:`load_bicep`. Local ``module`` files are followed with their
params; each file that cannot be parsed gives one :class:`InputError` with its position, and the
other files are still loaded. Compiled ARM JSON next to a ``.bicep`` goes through the ARM loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scanner.containment import read_bounded
from scanner.errors import InputError
from scanner.iac.arm import is_arm_parameters, is_arm_template, relative
from scanner.iac.arm.functions import DeploymentScope
from scanner.iac.arm.mapping import map_declared
from scanner.iac.arm.resources import Declared
from scanner.iac.arm.values import UNKNOWN, Unknown
from scanner.iac.bicep.evaluate import (
    MAX_MODULE_DEPTH,
    BicepEvalError,
    Env,
    comment_suppressions,
    resource_symbol,
    scope_of,
    suppressions_from_metadata,
    symbol_names,
)
from scanner.inventory import Inventory, SourceInfo
from scanner.jsonio import decode_text, digest_bytes

MAX_BICEP_BYTES = 4 * 1024 * 1024
_STRUCTURAL = {"name", "parent", "scope", "dependsOn"}


class _Parser:
    """One lazily built pycep parser: building the Lark grammar is the slow part."""

    parser: Any = None

    @classmethod
    def parse(cls, text: str) -> dict[str, Any]:
        if cls.parser is None:
            from pycep import BicepParser

            cls.parser = BicepParser(add_line_numbers=True)
        return cls.parser.parse(text=text)

    @classmethod
    def expression(cls, text: str) -> Any:
        """Parse the inside of a ``${...}`` by wrapping it in a variable declaration."""
        try:
            tree = cls.parse(f"var __kvaudit_expr = {text}\n")
        except Exception as exc:  # noqa: BLE001 - pycep/lark raise many types
            raise BicepEvalError(f"cannot parse interpolation '{text}': {_first_line(exc)}") from None
        return tree["variables"]["__kvaudit_expr"]["value"]


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _parse_error(origin: str, exc: BaseException) -> InputError:
    line = getattr(exc, "line", None)
    column = getattr(exc, "column", None)
    line = line if isinstance(line, int) and line > 0 else None
    column = column if isinstance(column, int) and column > 0 else None
    return InputError(origin, f"invalid Bicep: {_first_line(exc)}", line, column)


class BicepLoader:
    """Loads Bicep files and the local modules they use into declarations."""

    def __init__(self, root: Path):
        self.root = root
        self.declared: list[Declared] = []
        self.errors: list[InputError] = []
        self.sources: list[SourceInfo] = []
        self._seen_sources: set[str] = set()

    def read(self, path: Path) -> tuple[dict[str, Any], list[str]] | None:
        origin = relative(path, self.root)
        try:
            data = read_bounded(path, origin, MAX_BICEP_BYTES)
            text = decode_text(data, origin)
        except InputError as exc:
            self.errors.append(exc)
            return None
        try:
            tree = _Parser.parse(text)
        except RecursionError:
            self.errors.append(InputError(origin, "invalid Bicep: nesting too deep to parse"))
            return None
        except Exception as exc:  # noqa: BLE001 - lark and pycep raise many error types
            self.errors.append(_parse_error(origin, exc))
            return None
        if origin not in self._seen_sources:
            self._seen_sources.add(origin)
            self.sources.append(SourceInfo("bicep", origin, digest_bytes(data)))
        return tree, text.splitlines()

    def load_file(
        self, path: Path, supplied: dict[str, Any], scope: DeploymentScope, depth: int = 0, stack: tuple = ()
    ) -> None:
        resolved = path.resolve()
        if resolved in stack:
            self.errors.append(InputError(relative(path, self.root), "module cycle"))
            return
        parsed = self.read(path)
        if parsed is None:
            return
        tree, lines = parsed
        origin = relative(path, self.root)
        target = str((tree.get("globals") or {}).get("scope", {}).get("value", "resourceGroup"))
        if target in ("subscription", "managementGroup", "tenant") and depth == 0:
            scope = DeploymentScope(scope.subscription_id, None, target)
        env = Env(scope, _Parser.expression)
        self._bind_params(env, tree, supplied)
        for name, var in _entries(tree, "variables"):
            env.lazy[name] = _deferred(env, var.get("value"))
        resources = list(_entries(tree, "resources"))
        for symbol, res in resources:
            env.lazy[symbol] = self._symbol_thunk(env, res, origin)
        for symbol, _mod in _entries(tree, "modules"):
            env.values[symbol] = {"name": UNKNOWN, "outputs": Unknown(label=f"{symbol}.outputs")}
        for _symbol, res in resources:
            self._resource(env, res, origin, lines)
        for _symbol, mod in _entries(tree, "modules"):
            self._module(env, mod, path, origin, depth, (*stack, resolved))

    @staticmethod
    def _bind_params(env: Env, tree: dict[str, Any], supplied: dict[str, Any]) -> None:
        for name, param in _entries(tree, "parameters"):
            if name in supplied:
                env.values[name] = supplied[name]
            elif param.get("default") is not None:
                env.lazy[name] = _deferred(env, param["default"])
            else:
                env.values[name] = Unknown(label=f"parameters('{name}')")

    def _symbol_thunk(self, env: Env, res: dict[str, Any], origin: str) -> Any:
        def compute() -> Any:
            config = res.get("config") or {}
            if "loop_type" in config:
                return UNKNOWN
            if "condition" in config and "config" in config:
                config = config["config"]
            decl = self._declare(env, res, config, origin, [])
            return resource_symbol(decl)

        return compute

    def _declare(
        self, env: Env, res: dict[str, Any], config: dict[str, Any], origin: str, suppressions: list
    ) -> Declared:
        parent = env.value(config["parent"]) if "parent" in config else None
        names = symbol_names(config.get("name"), env, parent if isinstance(parent, dict) else None)
        scope_value = env.value(config["scope"]) if "scope" in config else None
        deployment, extension_scope = scope_of(scope_value, env.scope)
        body = {k: env.value(v) for k, v in config.items() if k not in _STRUCTURAL and not k.startswith("__")}
        return Declared(
            type=str(res.get("type")),
            names=names,
            body=body,
            deployment=deployment,
            source="bicep",
            file=origin,
            line=res.get("__start_line__"),
            api_version=res.get("api_version"),
            scope=extension_scope,
            existing=bool(res.get("existing")),
            suppressions=suppressions,
        )

    def _resource(self, env: Env, res: dict[str, Any], origin: str, lines: list[str]) -> None:
        line = res.get("__start_line__")
        suppressions = comment_suppressions(lines, line) if isinstance(line, int) else []
        for deco in res.get("decorators") or []:
            if isinstance(deco, dict) and deco.get("type") == "metadata":
                suppressions += suppressions_from_metadata(env.value(deco.get("argument")))
        config = res.get("config") or {}
        try:
            if "loop_type" in config:
                for loop_env in env.iterations(config):
                    if loop_env is None:
                        loop_env = env.child()
                    cond = config.get("condition")
                    if cond is not None and loop_env.value(cond) is False:
                        continue
                    self.declared.append(self._declare(loop_env, res, config["config"], origin, suppressions))
                return
            if "condition" in config and "config" in config:
                if env.value(config["condition"]) is False:
                    return
                config = config["config"]
            self.declared.append(self._declare(env, res, config, origin, suppressions))
        except (BicepEvalError, ValueError) as exc:
            self.errors.append(InputError(origin, f"cannot evaluate resource: {exc}", line))

    def _module(self, env: Env, mod: dict[str, Any], path: Path, origin: str, depth: int, stack: tuple) -> None:
        line = mod.get("__start_line__")
        if mod.get("type") != "local":
            return  # registry and template-spec modules are not fetched
        module_path = path.parent / str(mod.get("detail", {}).get("path", ""))
        if depth >= MAX_MODULE_DEPTH:
            self.errors.append(InputError(origin, "modules nested too deep", line))
            return
        if not module_path.is_file():
            self.errors.append(InputError(origin, f"module file not found: {mod['detail']['path']}", line))
            return
        config = mod.get("config") or {}
        if "loop_type" in config or ("condition" in config and "config" in config):
            config = config.get("config") or {}
        try:
            params = env.value(config.get("params") or {})
            scope_value = env.value(config["scope"]) if "scope" in config else None
        except (BicepEvalError, ValueError) as exc:
            self.errors.append(InputError(origin, f"cannot evaluate module: {exc}", line))
            return
        scope, _ = scope_of(scope_value, env.scope)
        self.load_file(module_path, params if isinstance(params, dict) else {}, scope, depth + 1, stack)


def _entries(tree: dict[str, Any], section: str) -> list[tuple[str, dict[str, Any]]]:
    return [(k, v) for k, v in (tree.get(section) or {}).items() if k != "__attrs__" and isinstance(v, dict)]


def _deferred(env: Env, node: Any) -> Any:
    return lambda: env.value(node)


def load_bicep(paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    """Load Bicep files (following local modules) into one inventory."""
    loader = BicepLoader(root)
    for path in dict.fromkeys(paths):
        loader.load_file(path, {}, DeploymentScope())
    records, suppressions = map_declared(loader.declared)
    return Inventory.from_records(records, sources=loader.sources, suppressions=suppressions), loader.errors


__all__ = ["is_arm_parameters", "is_arm_template", "load_bicep"]
