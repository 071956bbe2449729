"""Evaluating Terraform modules into resource instances with resolved attribute values.

This is the HCL front-end: it reads a module directory (``*.tf`` plus ``*.tfvars``), follows
local ``module`` calls, expands ``count``/``for_each`` where they are determinable and gives
every resource instance a dict of values. References between resources are resolved lazily,
so ``azurerm_key_vault.main.id`` becomes the vault's synthesised id and
``azurerm_key_vault_key.k.id`` a pinned :class:`KeyRef`. The plan front-end produces the same
:class:`Instance` objects from ``terraform show -json``, and :mod:`mapping` turns both into rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kvaudit.scanner import budget
from kvaudit.scanner.containment import inside, read_bounded, regular_problem
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.common import CallSite
from kvaudit.scanner.iac.terraform.azure import computed_attribute
from kvaudit.scanner.iac.terraform.evaluate import Evaluator
from kvaudit.scanner.iac.terraform.functions import EvalError
from kvaudit.scanner.iac.terraform.hcl import MAX_TF_BYTES, Attr, Block, HclFile, parse_file
from kvaudit.scanner.iac.terraform.json_config import configuration_files, parse_configuration
from kvaudit.scanner.iac.terraform.types import convert
from kvaudit.scanner.iac.terraform.values import UNKNOWN
from kvaudit.scanner.jsonio import load_json_bytes

#: Module calls nest at most this deep (and never into a directory already on the stack).
MAX_MODULE_DEPTH = 16
#: ``count``/``for_each`` larger than this is treated as undeterminable rather than expanded.
MAX_INSTANCES = 1000
#: Block-level meta-arguments that are not resource attributes.
META_ATTRS = {"count", "for_each", "provider", "depends_on"}
META_BLOCKS = {"lifecycle", "provisioner", "connection", "timeouts"}


@dataclass
class Instance:
    """One resource or data source instance with its evaluated values and where it is declared."""

    type: str
    mode: str  # managed | data
    address: str
    values: dict[str, Any]
    file: str | None = None
    line: int | None = None
    end_line: int | None = None
    environment: str = "public"
    #: The module call in the root that declared it (None for a resource of the root itself).
    call: CallSite | None = None


@dataclass
class ModuleSource:
    """The static content of one module directory, parsed once however often it is called."""

    directory: Path
    origin: str  # repo-relative posix path of the directory
    files: list[HclFile] = field(default_factory=list)
    variables: dict[str, Block] = field(default_factory=dict)
    locals: dict[str, Attr] = field(default_factory=dict)
    resources: dict[tuple[str, str], Block] = field(default_factory=dict)
    data: dict[tuple[str, str], Block] = field(default_factory=dict)
    modules: dict[str, Block] = field(default_factory=dict)
    outputs: dict[str, Block] = field(default_factory=dict)
    environment: str = "public"
    tfvars: dict[str, Any] = field(default_factory=dict)


def relative(path: Path, root: Path) -> str:
    """Repo-relative posix path for reports; absolute when outside ``root``."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix() or "."
    except ValueError:
        return path.resolve().as_posix()


class Loader:
    """Parses module directories (cached) and collects per-file errors."""

    def __init__(self, root: Path):
        self.root = root
        self.errors: list[InputError] = []
        self._sources: dict[Path, ModuleSource] = {}
        self._visiting: list[Path] = []
        self._installed: dict[Path, dict[str, Path]] = {}

    def installed(self, root_dir: Path, key: str) -> Path | None:
        """The directory ``terraform init`` installed the module call ``key`` (call names joined
        by ``.``, as in ``.terraform/modules/modules.json``) into, for registry and git sources;
        None when the root was not initialised or the call is not listed. Reading only what init
        already downloaded keeps the gate offline."""
        if root_dir not in self._installed:
            self._installed[root_dir] = self._read_manifest(root_dir)
        return self._installed[root_dir].get(key)

    def _read_manifest(self, root_dir: Path) -> dict[str, Path]:
        path = root_dir / ".terraform" / "modules" / "modules.json"
        if not path.is_file():
            return {}
        origin = relative(path, self.root)
        try:
            doc = load_json_bytes(read_bounded(path, origin, MAX_TF_BYTES), origin)
        except InputError as exc:
            self.errors.append(exc)
            return {}
        entries = doc.get("Modules") if isinstance(doc, dict) else None
        if not isinstance(entries, list):
            self.errors.append(InputError(origin, "module manifest has no Modules list; installed modules are not read"))
            return {}
        found: dict[str, Path] = {}
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("Key"), str) or not entry["Key"]:
                continue
            directory = entry.get("Dir")
            if isinstance(directory, str) and directory:
                target = (root_dir / directory).resolve()
                if target.is_dir():
                    found[entry["Key"]] = target
        return found

    def parsed_files(self) -> list[HclFile]:
        """Every ``.tf`` file parsed so far (root and called modules), for comments and digests."""
        return [parsed for module in self._sources.values() for parsed in module.files]

    def source(self, directory: Path) -> ModuleSource:
        """The parsed module in ``directory`` (cached), read the way Terraform reads it:
        ``*.tf`` and ``*.tf.json`` files, then override files merged in, and local module calls
        followed to find cycles (an error: Terraform refuses them, and without the error the
        cycle's modules would be silently unscanned)."""
        directory = directory.resolve()
        cached = self._sources.get(directory)
        if cached is not None:
            return cached
        module = ModuleSource(directory=directory, origin=relative(directory, self.root))
        self._sources[directory] = module
        if not inside(directory):
            self.errors.append(
                InputError(module.origin, "module directory outside the scanned tree is not read (KVAUDIT_ALLOW_PATHS)")
            )
            return module
        primaries, overrides = configuration_files(directory)
        for path in primaries + overrides:
            origin = relative(path, self.root)
            try:
                parsed = parse_configuration(path, origin)
            except InputError as exc:
                self.errors.append(exc)
                continue
            module.files.append(parsed)
            if path in overrides:
                self._override(module, parsed)
            else:
                self._index(module, parsed)
        self._follow_calls(module)
        return module

    def _follow_calls(self, module: ModuleSource) -> None:
        """Parse the local modules this one calls; a call back into the stack is a cycle."""
        self._visiting.append(module.directory)
        try:
            for name, block in module.modules.items():
                target = local_source(module.directory, block, Evaluator(_EmptyScope()))
                if target is None:
                    continue
                if target in self._visiting:
                    cycle = self._visiting[self._visiting.index(target) :] + [target]
                    chain = " -> ".join(relative(d, self.root) for d in cycle)
                    self.errors.append(
                        InputError(block.file, f"module cycle through module.{name}: {chain}", block.line)
                    )
                    continue
                if len(self._visiting) < MAX_MODULE_DEPTH:
                    self.source(target)
        finally:
            self._visiting.pop()

    @staticmethod
    def _override(module: ModuleSource, parsed: HclFile) -> None:
        """Merge an override file's blocks into the blocks they override (Terraform's rules:
        attributes replace attributes; a nested block type replaces all nested blocks of that
        type; locals replace by name). A block with nothing to override is added."""
        tables: dict[str, dict[Any, Block]] = {
            "resource": module.resources,
            "data": module.data,
            "module": module.modules,
            "output": module.outputs,
            "variable": module.variables,
        }
        for block in parsed.blocks:
            if block.type == "locals":
                module.locals.update(block.attrs)
                continue
            table = tables.get(block.type)
            if table is None:
                continue
            key: Any = (block.labels[0], block.labels[1]) if block.type in ("resource", "data") else block.labels[0]
            base = table.get(key) if block.labels else None
            if base is None:
                Loader._index(module, HclFile(path=parsed.path, blocks=[block]))
                continue
            base.attrs = {**base.attrs, **block.attrs}
            replaced = {nested.type for nested in block.blocks}
            base.blocks = [nested for nested in base.blocks if nested.type not in replaced] + block.blocks

    def load_tfvars(self, module: ModuleSource) -> None:
        """``terraform.tfvars`` then ``*.auto.tfvars``/other ``*.tfvars`` (later files win)."""
        paths = sorted(module.directory.glob("*.tfvars"), key=lambda p: (p.name != "terraform.tfvars", p.name))
        paths += sorted(module.directory.glob("*.tfvars.json"))
        paths = [p for p in paths if regular_problem(p) is None]  # a FIFO named x.tfvars is not read
        for path in paths:
            origin = relative(path, self.root)
            try:
                if path.name.endswith(".json"):
                    doc = load_json_bytes(read_bounded(path, origin, MAX_TF_BYTES), origin)
                    if not isinstance(doc, dict):
                        raise InputError(origin, "tfvars JSON must be an object")
                    module.tfvars.update(doc)
                    continue
                parsed = parse_file(path, origin)
            except InputError as exc:
                self.errors.append(exc)
                continue
            literal = Evaluator(_EmptyScope())
            for attr in parsed.attrs.values():
                try:
                    module.tfvars[attr.name] = literal.evaluate(attr.expr)
                except EvalError:
                    module.tfvars[attr.name] = UNKNOWN

    @staticmethod
    def _index(module: ModuleSource, parsed: HclFile) -> None:
        for block in parsed.blocks:
            labels = block.labels
            if block.type == "variable" and labels:
                module.variables[labels[0]] = block
            elif block.type == "locals":
                module.locals.update(block.attrs)
            elif block.type == "resource" and len(labels) >= 2:
                module.resources[(labels[0], labels[1])] = block
            elif block.type == "data" and len(labels) >= 2:
                module.data[(labels[0], labels[1])] = block
            elif block.type == "module" and labels:
                module.modules[labels[0]] = block
            elif block.type == "output" and labels:
                module.outputs[labels[0]] = block
            elif block.type == "provider" and labels and labels[0] == "azurerm" and "environment" in block.attrs:
                try:
                    env = Evaluator(_EmptyScope()).evaluate(block.attrs["environment"].expr)
                except EvalError:
                    env = None
                if isinstance(env, str):
                    module.environment = env.lower()


class _EmptyScope:
    """Scope for literals (variable defaults, tfvars): every reference is unknown."""

    def root(self, name: str, attrs: list[str]) -> tuple[Any, int]:
        return UNKNOWN, 0


def local_source(caller: Path, block: Block, evaluator: Evaluator) -> Path | None:
    """Directory of a ``./`` or ``../`` module source; registry and git sources give None."""
    attr = block.attrs.get("source")
    if attr is None:
        return None
    try:
        text = evaluator.evaluate(attr.expr)
    except EvalError:
        return None
    if not isinstance(text, str) or not text.startswith(("./", "../")):
        return None
    target = (caller / text).resolve()
    return target if target.is_dir() else None


class ModuleInstance:
    """One call of a module (or the root module) with its input values."""

    def __init__(
        self,
        loader: Loader,
        source: ModuleSource,
        prefix: str,
        inputs: dict[str, Any],
        stack: tuple[Path, ...],
        call: CallSite | None = None,
        installed: tuple[Path, str] | None = None,
    ):
        budget.charge("module_calls")
        self.loader = loader
        self.source = source
        self.prefix = prefix
        self.inputs = inputs
        self.call = call
        #: (root module directory, this call's key in its modules.json): where ``terraform
        #: init`` put the registry modules this module calls.
        self.installed = installed or (source.directory, "")
        self.stack = stack + (source.directory,)
        self._locals: dict[str, Any] = {}
        self._busy: set[str] = set()
        self._resources: dict[tuple[str, str, str], Any] = {}
        self._modules: dict[str, Any] = {}
        self.scope = ModuleScope(self, {})

    # --- namespaces ----------------------------------------------------------------------

    def var(self, name: str) -> Any:
        block = self.source.variables.get(name)
        type_node = block.attrs["type"].expr if block is not None and "type" in block.attrs else None
        if name in self.inputs:
            value = self.inputs[name]
            nullable = True
            if block is not None and "nullable" in block.attrs:
                try:
                    nullable = Evaluator(_EmptyScope()).evaluate(block.attrs["nullable"].expr) is not False
                except EvalError:
                    nullable = True
            if value is not None or nullable or block is None or "default" not in block.attrs:
                return convert(type_node, value)
        if block is None:
            return UNKNOWN
        if "default" not in block.attrs:
            return UNKNOWN
        try:
            return convert(type_node, Evaluator(_EmptyScope()).evaluate(block.attrs["default"].expr))
        except EvalError:
            return UNKNOWN

    def local(self, name: str) -> Any:
        if name in self._locals:
            return self._locals[name]
        attr = self.source.locals.get(name)
        if attr is None or name in self._busy:
            return UNKNOWN
        self._busy.add(name)
        try:
            value = Evaluator(self.scope).evaluate(attr.expr)
        except EvalError:
            value = UNKNOWN
        finally:
            self._busy.discard(name)
        self._locals[name] = value
        return value

    def resource_collection(self, mode: str, rtype: str, name: str) -> tuple[Any, list[ResourceHandle]]:
        """(a single handle, a list (count), a dict (for_each) or UNKNOWN; all instances)."""
        key = (mode, rtype, name)
        if key in self._resources:
            return self._resources[key]
        table = self.source.resources if mode == "managed" else self.source.data
        block = table.get((rtype, name))
        if block is None:
            return UNKNOWN, []
        self._resources[key] = (UNKNOWN, [])  # guards self-referencing count/for_each
        base = f"{self.prefix}{'data.' if mode == 'data' else ''}{rtype}.{name}"
        result = self._expand(block, lambda k, b: ResourceHandle(self, block, mode, _address(base, k), b))
        self._resources[key] = result
        return result

    def module_collection(self, name: str) -> tuple[Any, list[ModuleInstance]]:
        """Like :meth:`resource_collection`, for a local module call; remote sources are UNKNOWN."""
        if name in self._modules:
            return self._modules[name]
        block = self.source.modules.get(name)
        if block is None:
            return UNKNOWN, []
        self._modules[name] = (UNKNOWN, [])
        root_dir, key = self.installed
        key = f"{key}.{name}" if key else name
        directory = local_source(self.source.directory, block, Evaluator(self.scope))
        if directory is None:
            directory = self.loader.installed(root_dir, key)
        if directory is None or directory in self.stack or len(self.stack) >= MAX_MODULE_DEPTH:
            return UNKNOWN, []
        child_source = self.loader.source(directory)
        base = f"{self.prefix}module.{name}"

        def make(key: Any, bindings: dict[str, Any]) -> ModuleInstance:
            evaluator = Evaluator(ModuleScope(self, bindings))
            inputs: dict[str, Any] = {}
            for attr in block.attrs.values():
                if attr.name in META_ATTRS or attr.name in ("source", "version", "providers"):
                    continue
                try:
                    inputs[attr.name] = evaluator.evaluate(attr.expr)
                except EvalError:
                    inputs[attr.name] = UNKNOWN
            path = _address(base, key)
            # The outermost call stays the location however deep the module nesting goes.
            outer = self.call or CallSite(path, block.file, block.line)
            call = CallSite(path, outer.file, outer.line)
            return ModuleInstance(self.loader, child_source, path + ".", inputs, self.stack, call, (root_dir, key))

        result = self._expand(block, make)
        self._modules[name] = result
        return result

    def _expand(self, block: Block, make: Any) -> tuple[Any, list[Any]]:
        """(what references see, what is enumerated) for a block with count/for_each.

        When the expansion is not determinable references see UNKNOWN, but one instance with
        unknown ``each``/``count`` is still enumerated so the resource is not silently lost.
        """
        evaluator = Evaluator(self.scope)
        if "for_each" in block.attrs:
            try:
                items = evaluator.evaluate(block.attrs["for_each"].expr)
            except EvalError:
                items = UNKNOWN
            if isinstance(items, list) and all(isinstance(i, str) for i in items):
                items = {i: i for i in items}
            if not isinstance(items, dict) or len(items) > MAX_INSTANCES:
                return UNKNOWN, [make(None, {"each": {"key": UNKNOWN, "value": UNKNOWN}})]
            budget.charge("iterations", len(items))
            expanded = {k: make(k, {"each": {"key": k, "value": v}}) for k, v in items.items()}
            return expanded, list(expanded.values())
        if "count" in block.attrs:
            try:
                count = evaluator.evaluate(block.attrs["count"].expr)
            except EvalError:
                count = UNKNOWN
            if isinstance(count, bool) or not isinstance(count, int | float) or not 0 <= count <= MAX_INSTANCES:
                return UNKNOWN, [make(None, {"count": {"index": UNKNOWN}})]
            budget.charge("iterations", int(count))
            listed = [make(i, {"count": {"index": i}}) for i in range(int(count))]
            return listed, listed
        single = make(None, {})
        return single, [single]

    # --- enumeration ---------------------------------------------------------------------

    def instances(self) -> list[Instance]:
        """Every resource and data instance of this module and of its local child modules."""
        found: list[Instance] = []
        for mode, table in (("managed", self.source.resources), ("data", self.source.data)):
            for rtype, name in table:
                for handle in self.resource_collection(mode, rtype, name)[1]:
                    found.append(handle.instance())
        for name in self.source.modules:
            for child in self.module_collection(name)[1]:
                found.extend(child.instances())
        return found

    def output(self, name: str) -> Any:
        block = self.source.outputs.get(name)
        if block is None or "value" not in block.attrs:
            return UNKNOWN
        try:
            return Evaluator(self.scope).evaluate(block.attrs["value"].expr)
        except EvalError:
            return UNKNOWN

    def attr(self, name: str) -> Any:
        """``module.x.<output>``."""
        return self.output(name)


def _address(base: str, key: Any) -> str:
    if key is None:
        return base
    if isinstance(key, int):
        return f"{base}[{key}]"
    return f"{base}[{json.dumps(str(key))}]"


class ModuleScope:
    """Resolves ``var``, ``local``, ``each``, ``count``, resources, data and modules."""

    def __init__(self, module: ModuleInstance, bindings: dict[str, Any]):
        self.module = module
        self.bindings = bindings

    def root(self, name: str, attrs: list[str]) -> tuple[Any, int]:
        module = self.module
        if name in ("each", "count"):
            return self.bindings.get(name, UNKNOWN), 0
        if name == "var" and attrs:
            return module.var(attrs[0]), 1
        if name == "local" and attrs:
            return module.local(attrs[0]), 1
        if name == "path" and attrs:
            return {"module": module.source.origin, "root": ".", "cwd": "."}.get(attrs[0], UNKNOWN), 1
        if name == "terraform" and attrs:
            return ("default" if attrs[0] == "workspace" else UNKNOWN), 1
        if name == "data" and len(attrs) >= 2:
            return module.resource_collection("data", attrs[0], attrs[1])[0], 2
        if name == "module" and attrs:
            return module.module_collection(attrs[0])[0], 1
        if attrs and (name, attrs[0]) in module.source.resources:
            return module.resource_collection("managed", name, attrs[0])[0], 1
        return UNKNOWN, 0


class ResourceHandle:
    """One resource instance; its values are evaluated once, on first use."""

    def __init__(self, module: ModuleInstance, block: Block, mode: str, address: str, bindings: dict[str, Any]):
        budget.charge("resources")
        self.module = module
        self.block = block
        self.mode = mode
        self.address = address
        self.bindings = bindings
        self._values: dict[str, Any] | None = None
        self._busy = False

    @property
    def type(self) -> str:
        return self.block.labels[0]

    def values(self) -> dict[str, Any] | None:
        if self._values is not None:
            return self._values
        if self._busy:
            return None  # a reference cycle: the caller sees UNKNOWN
        self._busy = True
        try:
            evaluator = Evaluator(ModuleScope(self.module, self.bindings))
            self._values = evaluate_body(self.block, evaluator)
        finally:
            self._busy = False
        return self._values

    def attr(self, name: str) -> Any:
        values = self.values()
        if values is None:
            return UNKNOWN
        if name in values:
            return values[name]
        if name in self.block.attrs or any(b.type == name for b in self.block.blocks):
            return UNKNOWN
        return computed_attribute(self.type, self.mode, values, name, self.address, self.module.source.environment)

    def instance(self) -> Instance:
        return Instance(
            type=self.type,
            mode=self.mode,
            address=self.address,
            values=self.values() or {},
            file=self.block.file,
            line=self.block.line,
            end_line=self.block.end_line,
            environment=self.module.source.environment,
            call=self.module.call,
        )


def evaluate_body(block: Block, evaluator: Evaluator) -> dict[str, Any]:
    """Attributes and nested blocks (as lists of dicts, like the plan JSON) of one block."""
    values: dict[str, Any] = {}
    for attr in block.attrs.values():
        if attr.name in META_ATTRS:
            continue
        try:
            values[attr.name] = evaluator.evaluate(attr.expr)
        except EvalError:
            values[attr.name] = UNKNOWN
    for nested in block.blocks:
        if nested.type in META_BLOCKS:
            continue
        if nested.type == "dynamic" and nested.labels:
            name = nested.labels[0]
            expanded = _dynamic(nested, evaluator)
            current = values.get(name, [])
            if expanded is UNKNOWN or current is UNKNOWN:
                values[name] = UNKNOWN
            else:
                values[name] = current + expanded
            continue
        current = values.setdefault(nested.type, [])
        if current is not UNKNOWN:
            current.append(evaluate_body(nested, evaluator))
    return values


def _dynamic(block: Block, evaluator: Evaluator) -> Any:
    """Expand ``dynamic "x" { for_each = ...; content { ... } }``; UNKNOWN if not determinable."""
    content = next((b for b in block.blocks if b.type == "content"), None)
    if content is None or "for_each" not in block.attrs:
        return UNKNOWN
    iterator = block.labels[0]
    if "iterator" in block.attrs:
        iterator = _bare_name(block.attrs["iterator"].expr) or iterator
    try:
        items = evaluator.evaluate(block.attrs["for_each"].expr)
    except EvalError:
        return UNKNOWN
    if isinstance(items, list):
        pairs = list(enumerate(items))
    elif isinstance(items, dict):
        pairs = list(items.items())
    else:
        return UNKNOWN
    if len(pairs) > MAX_INSTANCES:
        return UNKNOWN
    return [evaluate_body(content, evaluator.child({iterator: {"key": k, "value": v}})) for k, v in pairs]


def _bare_name(expr: Any) -> str | None:
    node = expr
    while hasattr(node, "children") and node.data == "expr_term" and len(node.children) == 1:
        node = node.children[0]
    if hasattr(node, "data") and node.data == "identifier":
        return str(node.children[0])
    return None
