"""Bicep entry files (and ``.bicepparam`` files) -> declared resources, one unit per entry.

A Bicep deployment starts at an entry file; the local modules it calls are deployed with the
parameters the caller passes. So a module is judged only in its callers' context: a file that
another scanned file uses as a module is not also judged on its own, where its parameters would
have no values (and a compliant module whose audit setting lives in the parent would fail). A
module file scanned alone, with parameters that have no defaults, gives unknown values, never
guesses. Each file is parsed once however many times it is called, and module paths resolve only
inside the scan root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvaudit.scanner import budget, containment
from kvaudit.scanner.containment import inside, read_bounded
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.arm.functions import DeploymentScope
from kvaudit.scanner.iac.arm.resources import Declared, split_name
from kvaudit.scanner.iac.arm.template import suppressions_from_metadata
from kvaudit.scanner.iac.arm.values import UNKNOWN, RuntimeObject, Unknown, join_strings, render
from kvaudit.scanner.iac.bicep.evaluator import BicepEvalError, Env, UserFunction
from kvaudit.scanner.iac.bicep.parser import BicepSyntaxError, Node, parse
from kvaudit.scanner.iac.common import CallSite, parse_suppression_comment
from kvaudit.scanner.jsonio import decode_text, digest_bytes

MAX_BICEP_BYTES = 4 * 1024 * 1024
#: Deepest chain of module calls followed (how many calls a unit may expand is its budget's module_calls).
MAX_MODULE_DEPTH = 10
#: Properties of a resource body that shape its identity rather than its configuration.
_STRUCTURAL = {"name", "parent", "scope", "dependsOn"}
#: Module and import paths that name a file (registry ``br:``/``br/`` and template-spec
#: ``ts:`` references are not fetched: there is no network in the gate).
_FILE_PATH = re.compile(r"^(?!br[:/]|ts[:/])", re.I)
_LOCAL = re.compile(r"^(?!br[:/]|ts[:/])[^:]+\.bicep$", re.I)
_COMMENT = re.compile(r"^\s*//(.*)$")


@dataclass
class Parsed:
    """One parsed file: its tree, its lines (for comment suppressions) and its digest."""

    origin: str
    tree: Node
    lines: list[str]
    digest: str


@dataclass
class Unit:
    """What one entry file declares, with every file it read."""

    entry: str
    declared: list[Declared] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


class BicepProgram:
    """Parses files once, finds the entry files and evaluates each into a :class:`Unit`."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.errors: list[InputError] = []
        self._parsed: dict[Path, Parsed | None] = {}

    # --- reading ------------------------------------------------------------------------

    def origin(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def parsed(self, path: Path) -> Parsed | None:
        """The file's tree, parsed on first use; None (with one error) when it cannot be read."""
        key = path.resolve()
        if key in self._parsed:
            return self._parsed[key]
        origin = self.origin(path)
        result: Parsed | None = None
        try:
            data = read_bounded(path, origin, MAX_BICEP_BYTES)
            text = decode_text(data, origin)
            result = Parsed(origin, parse(text), text.splitlines(), digest_bytes(data))
        except OSError as exc:
            self.errors.append(InputError(origin, f"cannot read: {exc.strerror or type(exc).__name__}"))
        except InputError as exc:
            self.errors.append(exc)
        except BicepSyntaxError as exc:
            self.errors.append(InputError(origin, f"invalid Bicep: {exc.args[0].split(': ', 1)[-1]}", exc.line))
        self._parsed[key] = result
        return result

    def inside_root(self, path: Path) -> bool:
        """Inside the scan's roots (:mod:`scanner.containment`), or the loader's root when no
        scan set any."""
        return inside(path) and (containment.active() or path.resolve().is_relative_to(self.root))

    def local_targets(self, path: Path, parsed: Parsed) -> list[Path]:
        """Files this one uses: local modules, local imports and a param file's ``using``."""
        targets = []
        for statement in parsed.tree["statements"]:
            relative_path = None
            if statement.kind == "module" and _LOCAL.match(statement["path"]):
                relative_path = statement["path"]
            elif statement.kind == "using" and statement["path"]:
                relative_path = statement["path"]
            elif statement.kind == "import" and isinstance(statement.get("path"), str):
                relative_path = statement["path"] if _LOCAL.match(statement["path"]) else None
            if relative_path:
                targets.append((path.parent / relative_path).resolve())
        return targets

    def entries(self, paths: list[Path]) -> list[Path]:
        """Scanned files that no other scanned file uses (as a module, an import or a
        ``using`` target), plus any file left unreached, such as the members of a module cycle,
        so that nothing scanned is skipped in silence."""
        scanned = [p.resolve() for p in dict.fromkeys(paths)]
        uses: dict[Path, list[Path]] = {}
        for path in scanned:
            parsed = self.parsed(path)
            if parsed is not None:
                uses[path] = [t for t in self.local_targets(path, parsed) if t != path]
        used = {t for targets in uses.values() for t in targets}
        entries = [p for p in scanned if p in uses and p not in used]
        reached: set[Path] = set()
        for start in entries:
            self._reach(start, uses, reached)
        for path in scanned:
            if path in uses and path not in reached:
                entries.append(path)
                self._reach(path, uses, reached)
        return entries

    def _reach(self, start: Path, uses: dict[Path, list[Path]], reached: set[Path]) -> None:
        stack = [start]
        while stack:
            path = stack.pop()
            if path in reached:
                continue
            reached.add(path)
            stack.extend(uses.get(path, ()))

    # --- evaluation ---------------------------------------------------------------------

    def unit(self, entry: Path) -> Unit:
        parsed = self.parsed(entry)
        unit = Unit(self.origin(entry))
        if parsed is None:
            return unit
        run = _Run(self, unit)
        if entry.suffix.lower() == ".bicepparam":
            run.param_file(entry, parsed)
        else:
            run.file(entry, parsed, {}, DeploymentScope(), depth=0, stack=())
        return unit


class _Run:
    """The evaluation of one entry file and the modules it calls."""

    def __init__(self, program: BicepProgram, unit: Unit):
        self.program = program
        self.unit = unit
        #: The module call being evaluated (None in the entry file): resources declared under
        #: it are shown at the outermost call, in the entry file.
        self.call: CallSite | None = None

    def error(self, origin: str, problem: str, line: int | None) -> None:
        self.program.errors.append(InputError(origin, problem, line))

    def _reporter(self, origin: str) -> Any:
        seen: set[tuple[str, int | None]] = set()

        def report(message: str, line: int | None) -> None:
            if (message, line) not in seen:  # a loop repeats the same failure per item
                seen.add((message, line))
                self.error(origin, message, line)

        return report

    def param_file(self, path: Path, parsed: Parsed) -> None:
        env = Env(DeploymentScope(), report=self._reporter(parsed.origin))
        supplied: dict[str, Any] = {}
        target: Path | None = None
        for statement in parsed.tree["statements"]:
            if statement.kind == "using" and statement["path"]:
                target = path.parent / statement["path"]
            elif statement.kind == "var":
                env.lazy[statement["name"]] = _thunk(env, statement["value"])
            elif statement.kind == "param_value":
                supplied[statement["name"]] = env.guarded(statement["value"])
        self._note(parsed)
        if target is None:
            return
        if not self.program.inside_root(target):
            self.error(parsed.origin, "the 'using' file is outside the scanned directory", None)
            return
        main = self.program.parsed(target)
        if main is not None:
            self.file(target, main, supplied, DeploymentScope(), depth=0, stack=(path.resolve(),))

    def _note(self, parsed: Parsed) -> None:
        if parsed.origin not in self.unit.files:
            self.unit.files.append(parsed.origin)

    def file(
        self, path: Path, parsed: Parsed, supplied: dict[str, Any], scope: DeploymentScope, depth: int, stack: tuple
    ) -> Env:
        """Evaluate one file with the parameter values its caller supplies."""
        self._note(parsed)
        statements: list[Node] = parsed.tree["statements"]
        for statement in statements:
            if statement.kind == "targetScope" and depth == 0:
                target = statement["value"]
                level = target["value"] if target.kind == "literal" else None
                if level in ("subscription", "managementGroup", "tenant"):
                    scope = DeploymentScope(scope.subscription_id, None, level)
        report = self._reporter(parsed.origin)
        env = Env(scope, report=report)
        functions_env = Env(scope, report=report)  # functions see other functions and imports, not params
        for statement in statements:
            kind = statement.kind
            if kind == "param":
                name = statement["name"]
                if name in supplied:
                    env.values[name] = supplied[name]
                elif statement["default"] is not None:
                    env.lazy[name] = _thunk(env, statement["default"])
                else:
                    env.values[name] = Unknown(label=f"parameters('{name}')")
            elif kind == "var":
                env.lazy[statement["name"]] = _thunk(env, statement["value"])
            elif kind == "func":
                fn = UserFunction(tuple(a for a, _ in statement["args"]), statement["body"], functions_env)
                env.functions[statement["name"]] = fn
                functions_env.functions[statement["name"]] = fn
            elif kind == "import":
                self._import(path, parsed, statement, env, functions_env, depth, stack)
            elif kind == "resource":
                env.lazy[statement["name"]] = self._symbol_thunk(env, statement, parsed, None)
            elif kind == "module":
                env.values[statement["name"]] = {
                    "name": UNKNOWN,
                    "outputs": Unknown(label=f"{statement['name']}.outputs"),
                }
        for statement in statements:
            if statement.kind == "resource":
                self.resource(env, statement, parsed, None)
            elif statement.kind == "module":
                self.module(env, statement, path, parsed, depth, stack)
        return env

    def _import(
        self, path: Path, parsed: Parsed, statement: Node, env: Env, functions_env: Env, depth: int, stack: tuple
    ) -> None:
        """``import {a as b} from './x.bicep'`` binds x's exported values; registry imports
        (``br/...``) are not fetched, so what they name is unknown."""
        source = statement.get("path")
        local = isinstance(source, str) and _LOCAL.match(source)
        exported: dict[str, Any] = {}
        if local:
            target = path.parent / source
            if not self.program.inside_root(target):
                self.error(parsed.origin, "an imported file is outside the scanned directory", statement.line)
            elif target.resolve() in stack or depth >= MAX_MODULE_DEPTH:
                self.error(parsed.origin, "import cycle", statement.line)
            else:
                other = self.program.parsed(target)
                if other is not None:
                    exported = self._exports(target, other, depth, (*stack, path.resolve()))
        names = statement.get("names") or []
        for symbol, alias in names:
            value = exported.get(symbol, Unknown(label=f"{source}:{symbol}"))
            if isinstance(value, UserFunction):
                env.functions[alias] = value
                functions_env.functions[alias] = value
            else:
                env.values[alias] = value
        if statement.get("wildcard"):
            env.namespaces[statement["wildcard"]] = exported
            functions_env.namespaces[statement["wildcard"]] = exported

    def _exports(self, path: Path, parsed: Parsed, depth: int, stack: tuple) -> dict[str, Any]:
        """The exported variables and functions of an imported file (types carry no values)."""
        env = Env(DeploymentScope(), report=self._reporter(parsed.origin))
        out: dict[str, Any] = {}
        for statement in parsed.tree["statements"]:
            if statement.kind == "import":
                self._import(path, parsed, statement, env, env, depth + 1, stack)
        for statement in parsed.tree["statements"]:
            exported = any(_decorator_name(d) == "export" for d in statement.get("decorators") or [])
            if statement.kind == "var":
                env.lazy[statement["name"]] = _thunk(env, statement["value"])
                if exported:
                    out[statement["name"]] = None
            elif statement.kind == "func":
                fn = UserFunction(tuple(a for a, _ in statement["args"]), statement["body"], env)
                env.functions[statement["name"]] = fn
                if exported:
                    out[statement["name"]] = fn
        for name, value in out.items():
            if value is None:
                out[name] = env.lookup(name)
        return out

    # --- resources ----------------------------------------------------------------------

    def _symbol_thunk(self, env: Env, statement: Node, parsed: Parsed, parent: Declared | None) -> Any:
        def compute() -> Any:
            body = statement["body"]
            if body.kind != "object":
                return Unknown(label=statement["name"])  # a looped or conditional symbol
            decl = self.declare(env, statement, body, parsed, parent, [])
            written = next((item["value"] for item in body["items"] if item.kind == "property" and item["key"] == "name"), None)
            symbol = resource_symbol(decl, env.guarded(written) if written is not None else None)
            children = {}
            for item in body["items"]:
                if item.kind == "resource":
                    children[item["name"]] = self._symbol_thunk(env, item, parsed, decl)
            symbol["__children__"] = children
            return symbol

        return compute

    def declare(
        self, env: Env, statement: Node, body: Node, parsed: Parsed, parent: Declared | None, suppressions: list
    ) -> Declared:
        """One declaration from a resource body; each property is evaluated on its own."""
        properties = {item["key"]: item["value"] for item in body["items"] if item.kind == "property"}
        rtype, api_version = _resource_type(statement["type"], parent)
        parent_symbol = env.guarded(properties["parent"]) if "parent" in properties else None
        name_value = env.guarded(properties.get("name"))
        names = split_name(name_value)
        if parent is not None:
            names = [*parent.names, *names]
        elif isinstance(parent_symbol, dict):
            names = [*parent_symbol.get("__names__", split_name(parent_symbol.get("name"))), *names]
        scope_value = env.guarded(properties["scope"]) if "scope" in properties else None
        deployment, extension_scope = scope_of(scope_value, env.scope)
        evaluated = env.guarded(body)
        if isinstance(evaluated, dict):
            values = {k: v for k, v in evaluated.items() if k not in _STRUCTURAL}
        else:  # an object spread of unknown content: every property is unknown
            values = {"properties": UNKNOWN}
        return Declared(
            type=rtype,
            names=names,
            body=values,
            deployment=deployment,
            source="bicep",
            file=parsed.origin,
            line=statement.line,
            api_version=api_version,
            scope=extension_scope,
            existing=bool(statement.get("existing")),
            suppressions=suppressions,
            call=self.call,
        )

    def resource(self, env: Env, statement: Node, parsed: Parsed, parent: Declared | None) -> None:
        suppressions = comment_suppressions(parsed.lines, statement.line)
        for decorator in statement.get("decorators") or []:
            if _decorator_name(decorator) == "metadata":
                args = decorator["expr"].get("args") or []
                if args:
                    suppressions += suppressions_from_metadata(env.guarded(args[0]))
        body = statement["body"]
        try:
            for scope_env, object_node, _ in self._instances(env, body):
                budget.charge("resources")
                decl = self.declare(scope_env, statement, object_node, parsed, parent, suppressions)
                self.unit.declared.append(decl)
                for item in object_node["items"]:
                    if item.kind == "resource":
                        self.resource(scope_env, item, parsed, decl)
        except BicepEvalError as exc:
            self.error(parsed.origin, f"cannot expand resource '{statement['name']}': {exc}", statement.line)

    def _instances(self, env: Env, body: Node) -> list[tuple[Env, Node, int | None]]:
        """The (scope, object, loop index) triples a resource or module body declares: one,
        none (a false condition), or one per loop item. An unknown condition still declares it
        (what it would configure is judged), and an unknown loop declares one representative
        (index None: which item it stands for is not known)."""
        if body.kind == "if":
            test = env.guarded(body["test"])
            return [] if test is False else [(env, body["body"], None)]
        if body.kind == "array" or body.kind == "for":
            loop = body if body.kind == "for" else None
            if loop is None:
                raise BicepEvalError("a resource body must be an object, a condition or a loop")
            out: list[tuple[Env, Node, int | None]] = []
            inner = loop["body"]
            for position, child in loop_envs(env, loop):
                if inner.kind == "if":
                    if child.guarded(inner["test"]) is False:
                        continue
                    out.append((child, inner["body"], position))
                else:
                    out.append((child, inner, position))
            return out
        return [(env, body, None)]

    def module(self, env: Env, statement: Node, path: Path, parsed: Parsed, depth: int, stack: tuple) -> None:
        source = statement["path"]
        if not _FILE_PATH.match(source):
            return  # registry and template-spec modules are not fetched: no network in the gate
        target = path.parent / source
        line = statement.line
        if not self.program.inside_root(target):
            self.error(parsed.origin, "module file is outside the scanned directory", line)
            return
        if not _LOCAL.match(source):
            if source.lower().endswith(".json"):
                from kvaudit.scanner.sources import notice  # imported here: sources imports the loaders

                notice(f"{parsed.origin}:{line}: the ARM template module {source} is not followed")
            else:
                self.error(parsed.origin, "a module path must name a .bicep or .json file", line)
            return
        if target.resolve() in stack:
            self.error(parsed.origin, f"module cycle through {source}", line)
            return
        if depth >= MAX_MODULE_DEPTH:
            self.error(parsed.origin, f"modules nested more than {MAX_MODULE_DEPTH} deep", line)
            return
        module_parsed = self.program.parsed(target)
        if module_parsed is None:
            if not target.exists():
                self.error(parsed.origin, f"module file not found: {source}", line)
            return
        try:
            instances = self._instances(env, statement["body"])
        except BicepEvalError as exc:
            self.error(parsed.origin, f"cannot expand module '{statement['name']}': {exc}", line)
            return
        for scope_env, object_node, index in instances:
            budget.charge("module_calls")
            properties = {i["key"]: i["value"] for i in object_node["items"] if i.kind == "property"}
            params = scope_env.guarded(properties["params"]) if "params" in properties else {}
            scope_value = scope_env.guarded(properties["scope"]) if "scope" in properties else None
            module_scope, _ = scope_of(scope_value, scope_env.scope)
            supplied = params if isinstance(params, dict) else {}
            name = statement["name"] + (f"[{index}]" if index is not None else "")
            outer = self.call
            self.call = outer.into(name) if outer is not None else CallSite(name, parsed.origin, line)
            try:
                self.file(target, module_parsed, supplied, module_scope, depth + 1, (*stack, path.resolve()))
            finally:
                self.call = outer


def loop_envs(env: Env, loop: Node) -> list[tuple[int | None, Env]]:
    """Scopes of a ``for`` loop with their item index; an unknown collection gives one scope
    with unknown items and index None."""
    envs = list(env.iterations(loop))
    if envs == [None]:
        bindings = {loop["item"]: UNKNOWN}
        if loop["index"]:
            bindings[loop["index"]] = UNKNOWN
        return [(None, env.child(bindings))]
    return [(index, e) for index, e in enumerate(envs) if e is not None]


def _thunk(env: Env, node: Node) -> Any:
    return lambda: env.value(node)


def _decorator_name(decorator: Node) -> str | None:
    expr = decorator["expr"]
    return expr["name"] if expr.kind == "call" else None


def _resource_type(text: str, parent: Declared | None) -> tuple[str, str | None]:
    """``'Microsoft.KeyVault/vaults/keys@2023-07-01'`` -> type and API version; a nested child
    written as ``'keys'`` extends its parent's type and inherits its API version."""
    rtype, _, version = text.partition("@")
    if parent is not None and "/" not in rtype:
        return f"{parent.type}/{rtype}", version or parent.api_version
    return rtype, version or None


def resource_symbol(decl: Declared, written_name: Any = None) -> dict[str, Any]:
    """What a resource symbol evaluates to: id, name and type known, runtime state unknown.

    ``name`` is the name as the declaration wrote it, as Bicep gives it: a child declared with
    ``parent: kv`` and ``name: 'cmk'`` has ``.name == 'cmk'``, which is what lets real templates
    build ``'${kv.properties.vaultUri}keys/${cmk.name}'``. The full segment list, which a
    grandchild's ``parent:`` needs, travels separately."""
    names: list[Any] = []
    for index, name in enumerate(decl.names):
        if index:
            names.append("/")
        names.append(name)
    return {
        "id": decl.display_id,
        "name": join_strings(names) if written_name is None else written_name,
        "__names__": list(decl.names),
        "type": decl.type,
        "apiVersion": decl.api_version,
        "location": decl.body.get("location", UNKNOWN),
        "properties": RuntimeObject(decl.id),
        "identity": RuntimeObject(decl.id, ("identity",)),
    }


def scope_of(value: Any, fallback: DeploymentScope) -> tuple[DeploymentScope, Any]:
    """A ``scope:`` value -> (deployment scope for modules, extension scope id for resources)."""
    if isinstance(value, dict) and "id" in value:
        target = value["id"]
        parts = (render(target) or "").split("/")
        if len(parts) == 5 and parts[3].lower() == "resourcegroups":
            name = value.get("name")
            return DeploymentScope(fallback.subscription_id, name if isinstance(name, str) else None), None
        return fallback, target
    return fallback, None


def comment_suppressions(lines: list[str], start_line: int) -> list[tuple[str, str | None]]:
    """``// kvaudit:ignore RULE reason`` on the comment and decorator lines above a resource."""
    out: list[tuple[str, str | None]] = []
    index = start_line - 2
    while 0 <= index < len(lines):
        text = lines[index]
        if _COMMENT.match(text):
            parsed = parse_suppression_comment(text.strip())
            if parsed:
                out.append(parsed)
        elif not text.strip().startswith("@"):
            break
        index -= 1
    return list(reversed(out))


def load_units(paths: list[Path], root: Path) -> tuple[list[Unit], list[InputError], list[Parsed]]:
    """Every entry file among ``paths`` as a unit, the errors, and every file that was read."""
    program = BicepProgram(root)
    units = [program.unit(entry) for entry in program.entries(paths)]
    read = [p for p in program._parsed.values() if p is not None]
    return units, program.errors, read
