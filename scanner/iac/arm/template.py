"""Walk an ARM template (classic or languageVersion 2.0) into :class:`Declared` resources.

Handles parameters (defaults and parameter files), variables, resource and property ``copy``
loops, ``condition``, child resources nested in their parent, old-style ``.../providers/...``
extension resources, symbolic names, and nested ``Microsoft.Resources/deployments`` with inner
or outer expression scope. An expression that fails is reported against the resource's line
and only that resource is dropped, so one bad resource does not hide the rest of the file.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kvaudit.scanner import budget
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.arm.expressions import Evaluator, ExpressionError
from kvaudit.scanner.iac.arm.functions import DeploymentScope
from kvaudit.scanner.iac.arm.positions import line_of
from kvaudit.scanner.iac.arm.resources import Declared, render_name, split_extension_type, split_name
from kvaudit.scanner.iac.arm.values import UNKNOWN, RuntimeObject, Unknown, is_known, render
from kvaudit.scanner.iac.common import CallSite, parse_suppression_comment

#: Resource keys that are structure, not state: never evaluated into the body.
_STRUCTURAL = {
    "type",
    "name",
    "apiversion",
    "copy",
    "condition",
    "dependson",
    "resources",
    "scope",
    "metadata",
    "comments",
    "existing",
    "import",
}
MAX_COPY = 800  # ARM's own limit on copy count
MAX_TYPE_REFS = 32  # ``$ref`` hops followed between ``definitions`` (a cycle is no type)
MAX_NESTED_DEPLOYMENTS = 20


#: Template sections and the JSON type each must have (``resources`` may be a list or, in
#: languageVersion 2.0, an object of symbolic names).
_SECTIONS: dict[str, tuple[type, ...]] = {
    "parameters": (dict,),
    "variables": (dict,),
    "functions": (list,),
    "outputs": (dict,),
    "resources": (list, dict),
}
_TYPE_NAMES = {dict: "an object", list: "an array"}


def section_problem(template: Any) -> str | None:
    """Why a template's sections cannot be walked (a section of the wrong JSON type), or None.

    Azure refuses such a template, so what it declares is unknown, and the file is an error."""
    if not isinstance(template, dict):
        return "a template must be a JSON object"
    for name, types in _SECTIONS.items():
        value = _ci(template, name)
        if value is not None and not isinstance(value, types):
            wanted = " or ".join(_TYPE_NAMES[t] for t in types)
            return f"template section '{name}' must be {wanted}, not {type(value).__name__}"
    return None


class UserFunction:
    """A member of the template's ``functions`` section (what Bicep compiles ``func`` and
    imported functions to, namespace ``__bicep``). Its output sees only its own parameters and
    the other user functions of the template, never the template's parameters or variables."""

    def __init__(
        self,
        name: str,
        definition: dict[str, Any],
        family: dict[str, UserFunction],
        scope: DeploymentScope,
        active: list[int],
    ):
        self.name = name
        params = _ci(definition, "parameters")
        self.params = [_ci(p, "name") for p in (params if isinstance(params, list) else []) if isinstance(p, dict)]
        output = _ci(definition, "output")
        self.output = _ci(output, "value") if isinstance(output, dict) else None
        self.family, self.scope = family, scope
        self.active = active  # calls in progress in this family, shared by its members

    def __call__(self, args: list[Any]) -> Any:
        if len(args) != len(self.params) or not all(isinstance(p, str) for p in self.params):
            raise ExpressionError(f"{self.name}() takes {len(self.params)} arguments, not {len(args)}")
        if self.output is None:
            raise ExpressionError(f"{self.name}() has no output value")
        if self.active[0] >= MAX_FUNCTION_DEPTH:
            raise ExpressionError(f"user-defined functions nested deeper than {MAX_FUNCTION_DEPTH} calls")
        self.active[0] += 1
        try:
            body = {"parameters": {p: {} for p in self.params}}
            inner = Context(body, dict(zip(self.params, args, strict=True)), self.scope, self.family)
            return inner.value(self.output)
        finally:
            self.active[0] -= 1


#: A function may call the others, and a hostile one itself: calls nest this deep at most, so
#: that evaluation ends with an error, not a RecursionError.
MAX_FUNCTION_DEPTH = 16


def user_functions(template: dict[str, Any], scope: DeploymentScope) -> dict[str, UserFunction]:
    """``namespace.member`` (lower case) -> its function, for the evaluator's specials."""
    out: dict[str, UserFunction] = {}
    active = [0]
    sections = _ci(template, "functions")
    for section in sections if isinstance(sections, list) else []:
        namespace = _ci(section, "namespace") if isinstance(section, dict) else None
        members = _ci(section, "members") if isinstance(section, dict) else None
        if not isinstance(namespace, str) or not isinstance(members, dict):
            continue
        for member, definition in members.items():
            if isinstance(definition, dict):
                name = f"{namespace}.{member}"
                out[name.lower()] = UserFunction(name, definition, out, scope, active)
    return out


def _variable_loops(loops: list[Any]) -> dict[str, dict[str, Any]]:
    """``variables.copy`` entries by lower-case name (an entry without a name declares nothing)."""
    out: dict[str, dict[str, Any]] = {}
    for loop in loops:
        name = _ci(loop, "name") if isinstance(loop, dict) else None
        if isinstance(name, str):
            out[name.lower()] = loop
    return out


def _ci(obj: dict[str, Any], key: str, default: Any = None) -> Any:
    for name, value in obj.items():
        if name.lower() == key.lower():
            return value
    return default


class Context:
    """Parameters, variables, loop indexes and symbols of one (nested) template scope."""

    def __init__(
        self,
        template: dict[str, Any],
        supplied: dict[str, Any],
        scope: DeploymentScope,
        functions: dict[str, UserFunction] | None = None,
    ):
        self.scope = scope
        self.param_defs = {k.lower(): v for k, v in (_ci(template, "parameters") or {}).items()}
        self.supplied = {k.lower(): v for k, v in supplied.items()}
        self.param_cache: dict[str, Any] = {}
        self.definitions = _ci(template, "definitions")
        self.var_defs: dict[str, Any] = {}
        self.var_loops: dict[str, dict[str, Any]] = {}
        for key, value in (_ci(template, "variables") or {}).items():
            if key.lower() == "copy" and isinstance(value, list):
                self.var_loops.update(_variable_loops(value))
            else:
                self.var_defs[key.lower()] = value
        self.var_cache: dict[str, Any] = {}
        self.resolving: set[str] = set()
        self.copy: dict[str | None, Any] = {}
        self.symbols: dict[str, str] = {}
        self.functions = functions if functions is not None else user_functions(template, scope)
        self.evaluator = Evaluator(
            scope,
            {
                **self.functions,
                "parameters": self._parameter,
                "variables": self._variable,
                "copyindex": self._copy_index,
                "reference": self._reference,
                "resourceinfo": self._resource_info,
            },
        )

    def _parameter(self, args: list[Any]) -> Any:
        (name,) = args
        key = str(name).lower()
        if key in self.param_cache:
            return self.param_cache[key]
        if key in self.supplied:
            value = self.supplied[key]
        elif key in self.param_defs:
            definition = self.param_defs[key] or {}
            if isinstance(definition, dict) and "defaultvalue" in {k.lower() for k in definition}:
                value = self._guarded(f"param:{key}", lambda: self.value(_ci(definition, "defaultValue")))
            elif self._nullable(definition):
                value = None  # an optional (nullable) parameter left out is null, as ARM binds it
            else:
                value = Unknown(label=f"parameters('{name}')")
        else:
            raise ExpressionError(f"parameter '{name}' is not defined")
        self.param_cache[key] = value
        return value

    def _nullable(self, definition: Any, depth: int = 0) -> bool:
        """A parameter declared ``nullable`` (languageVersion 2.0), directly or through the
        ``$ref`` of a type in ``definitions``, as Bicep compiles ``param x someType?``."""
        if not isinstance(definition, dict) or depth > MAX_TYPE_REFS:
            return False
        if _ci(definition, "nullable") is True:
            return True
        ref = _ci(definition, "$ref")
        if isinstance(ref, str) and ref.startswith("#/definitions/") and isinstance(self.definitions, dict):
            return self._nullable(_ci(self.definitions, ref.removeprefix("#/definitions/")), depth + 1)
        return False

    def _variable(self, args: list[Any]) -> Any:
        (name,) = args
        key = str(name).lower()
        if key not in self.var_cache:
            if key in self.var_loops:
                loop = self.var_loops[key]
                self.var_cache[key] = self._guarded(f"var:{key}", lambda: self._variable_copy(loop))
            elif key in self.var_defs:
                self.var_cache[key] = self._guarded(f"var:{key}", lambda: self.value(self.var_defs[key]))
            else:
                raise ExpressionError(f"variable '{name}' is not defined")
        return self.var_cache[key]

    def _variable_copy(self, loop: dict[str, Any]) -> Any:
        """One ``variables.copy`` entry: a list of ``count`` evaluations of ``input``, each
        with ``copyIndex('<name>')`` set. A count that cannot be known makes the list unknown."""
        name = _ci(loop, "name")
        count = self.value(_ci(loop, "count"))
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_COPY:
            if is_known(count):
                raise ExpressionError(f"variable copy '{name}': count must be an integer from 0 to {MAX_COPY}")
            return Unknown(label=f"variables('{name}')")
        items = []
        saved, self.copy = self.copy, {}  # a variable sees no resource loop, only its own
        try:
            for index in range(count):
                budget.charge("iterations")
                with self.loop(name, index, default=False):
                    items.append(self.value(_ci(loop, "input")))
        finally:
            self.copy = saved
        return items

    def _guarded(self, key: str, compute: Any) -> Any:
        if key in self.resolving:
            raise ExpressionError(f"circular reference through {key.split(':', 1)[1]}")
        self.resolving.add(key)
        try:
            return compute()
        finally:
            self.resolving.discard(key)

    def _copy_index(self, args: list[Any]) -> Any:
        name = next((a for a in args if isinstance(a, str)), None)
        offset = next((a for a in args if isinstance(a, int) and not isinstance(a, bool)), 0)
        index = self.copy.get(name.lower() if name else None, None)
        if index is None:
            if name is None and not self.copy:
                raise ExpressionError("copyIndex() used outside a copy loop")
            return UNKNOWN
        return index + offset if isinstance(index, int) else UNKNOWN

    def _target_id(self, target: Any) -> str | None:
        if isinstance(target, str) and target.lower() in self.symbols:
            return self.symbols[target.lower()]
        text = render(target)
        return text.lower() if text else None

    def _reference(self, args: list[Any]) -> Any:
        target = self._target_id(args[0]) if args else None
        return RuntimeObject(target) if target else UNKNOWN

    def _resource_info(self, args: list[Any]) -> Any:
        target = self._target_id(args[0]) if args else None
        return {"id": target, "name": UNKNOWN, "type": UNKNOWN} if target else UNKNOWN

    def value(self, raw: Any, lenient: bool = False) -> Any:
        """Evaluate a JSON value: expressions in strings, property ``copy`` loops in objects.

        ``lenient`` (resource properties): an expression that cannot be evaluated (an undeclared
        parameter, an unsupported function, a malformed expression) makes that one value
        unknown instead of failing the whole resource.
        """
        if isinstance(raw, str):
            if not lenient:
                return self.evaluator.evaluate_string(raw)
            try:
                return self.evaluator.evaluate_string(raw)
            except ExpressionError:
                return Unknown()
        if isinstance(raw, list):
            return [self.value(item, lenient) for item in raw]
        if isinstance(raw, dict):
            out: dict[str, Any] = {}
            for key, item in raw.items():
                if key.lower() == "copy" and isinstance(item, list):
                    out.update(self._property_copy(item, lenient))
                else:
                    out[key] = self.value(item, lenient)
            return out
        return raw

    def _property_copy(self, loops: list[Any], lenient: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for loop in loops:
            if not isinstance(loop, dict):
                continue
            name = _ci(loop, "name")
            count = self.value(_ci(loop, "count"), lenient)
            if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_COPY:
                out[name] = UNKNOWN
                continue
            items = []
            for index in range(count):
                budget.charge("iterations")
                with self.loop(name, index, default=False):
                    items.append(self.value(_ci(loop, "input"), lenient))
            out[name] = items
        return out

    def loop(self, name: str | None, index: Any, default: bool = True) -> _Loop:
        return _Loop(self, name, index, default)


class _Loop:
    """Sets copyIndex() for the duration of one loop iteration."""

    def __init__(self, ctx: Context, name: str | None, index: Any, default: bool):
        self.ctx, self.name, self.index, self.default = ctx, name, index, default
        self.saved: dict[str | None, Any] = {}

    def __enter__(self) -> None:
        self.saved = dict(self.ctx.copy)
        if self.name:
            self.ctx.copy[self.name.lower()] = self.index
        if self.default:
            self.ctx.copy[None] = self.index

    def __exit__(self, *exc: object) -> None:
        self.ctx.copy = self.saved


class TemplateWalker:
    """Collects declarations and per-resource errors from one template file."""

    def __init__(self, origin: str, source: str = "arm"):
        self.origin = origin
        self.source = source
        self.declared: list[Declared] = []
        self.errors: list[InputError] = []
        self.depth = 0
        #: The outermost nested deployment being walked: its resources are shown at it, the
        #: way a module's resources are shown at the module call.
        self.call: CallSite | None = None

    def walk(self, template: dict[str, Any], supplied: dict[str, Any], scope: DeploymentScope) -> None:
        problem = section_problem(template)
        if problem is not None:
            self.errors.append(InputError(self.origin, problem, line_of(template)))
            return
        ctx = Context(template, supplied, scope)
        self._walk_resources(template, ctx)

    def _walk_resources(self, template: dict[str, Any], ctx: Context) -> None:
        resources = _ci(template, "resources") or []
        if isinstance(resources, dict):  # languageVersion 2.0: symbolic names
            items = list(resources.items())
            for symbol, res in items:
                self._register_symbol(symbol, res, ctx)
        else:
            items = [(None, res) for res in resources if isinstance(res, dict)]
        for _symbol, res in items:
            if isinstance(res, dict):
                self._resource(res, ctx, parent=None)

    def _register_symbol(self, symbol: str, res: Any, ctx: Context) -> None:
        if not isinstance(res, dict) or _ci(res, "copy") is not None:
            return
        try:
            decl = self._declare(res, ctx, None)
        except ExpressionError:
            return
        if decl is not None:
            ctx.symbols[symbol.lower()] = decl.id

    def _resource(self, res: dict[str, Any], ctx: Context, parent: tuple[str, list[Any]] | None) -> None:
        line = line_of(res)
        try:
            for _ in self._iterations(res, ctx):
                condition = _ci(res, "condition")
                if condition is not None and ctx.value(condition) is False:
                    continue
                decl = self._declare(res, ctx, parent)
                if decl is None:
                    continue
                self._after_declare(decl, res, ctx)
        except ExpressionError as exc:
            self.errors.append(InputError(self.origin, f"cannot evaluate resource: {exc}", line))

    def _iterations(self, res: dict[str, Any], ctx: Context) -> Iterator[None]:
        copy = _ci(res, "copy")
        if not isinstance(copy, dict):
            yield
            return
        name = _ci(copy, "name")
        count = ctx.value(_ci(copy, "count"))
        if isinstance(count, int) and not isinstance(count, bool) and 0 <= count <= MAX_COPY:
            for index in range(count):
                budget.charge("iterations")
                with ctx.loop(name, index):
                    yield
        else:
            with ctx.loop(name, Unknown(label=f"copyIndex('{name}')")):
                yield

    def _declare(self, res: dict[str, Any], ctx: Context, parent: tuple[str, list[Any]] | None) -> Declared | None:
        rtype = ctx.value(_ci(res, "type"))
        if not isinstance(rtype, str):
            raise ExpressionError("resource type does not resolve")
        names = split_name(ctx.value(_ci(res, "name")))
        if parent is not None and "." not in rtype.split("/")[0]:
            rtype = f"{parent[0]}/{rtype}"
            names = [*parent[1], *names] if len(names) < len(rtype.split("/")) - 1 else names
        scope = _ci(res, "scope")
        scope_value = ctx.value(scope) if scope is not None else None
        if isinstance(scope_value, str) and scope_value.lower() in ctx.symbols:
            scope_value = ctx.symbols[scope_value.lower()]
        extension = split_extension_type(rtype, names)
        if extension is not None:
            base_type, base_names, rtype, names = extension
            namespace, *types = base_type.split("/")
            scope_value = "".join(
                [f"{namespace}"] + [f"/{t}/{render(n) or '{unknown}'}" for t, n in zip(types, base_names, strict=False)]
            )
        if rtype.lower() == "microsoft.resources/deployments":
            body: dict[str, Any] = {}  # the inner template is evaluated in its own scope later
        else:
            body = {k: ctx.value(v, lenient=True) for k, v in res.items() if k.lower() not in _STRUCTURAL}
        api = _ci(res, "apiVersion")
        return Declared(
            type=rtype,
            names=names,
            body=body,
            deployment=ctx.scope,
            source=self.source,
            file=self.origin,
            line=line_of(res),
            api_version=api if isinstance(api, str) else None,
            scope=scope_value,
            existing=bool(_ci(res, "existing")),
            suppressions=suppressions_from_metadata(_ci(res, "metadata"), _ci(res, "comments")),
            call=self.call,
        )

    def _after_declare(self, decl: Declared, res: dict[str, Any], ctx: Context) -> None:
        budget.charge("resources")
        if decl.type_lower == "microsoft.resources/deployments":
            self._nested_deployment(decl, res, ctx)
        else:
            self.declared.append(decl)
        for child in _ci(res, "resources") or []:
            if isinstance(child, dict):
                self._resource(child, ctx, parent=(decl.type, decl.names))

    def _nested_deployment(self, decl: Declared, res: dict[str, Any], ctx: Context) -> None:
        raw_props = _ci(res, "properties") or {}
        template = _ci(raw_props, "template")
        if not isinstance(template, dict):
            if _ci(raw_props, "templateLink") is not None:
                linked_template_notice(self.origin, decl.line, _ci(raw_props, "templateLink"))
            return
        if self.depth >= MAX_NESTED_DEPLOYMENTS:
            self.errors.append(InputError(self.origin, "nested deployments too deep", decl.line))
            return
        sub = ctx.value(_ci(res, "subscriptionId")) if _ci(res, "subscriptionId") is not None else None
        rg = ctx.value(_ci(res, "resourceGroup")) if _ci(res, "resourceGroup") is not None else None
        scope = DeploymentScope(
            subscription_id=sub if isinstance(sub, str) else (None if sub is None else ctx.scope.subscription_id),
            resource_group=rg if isinstance(rg, str) else ctx.scope.resource_group,
            level="resourceGroup" if rg is not None or ctx.scope.level == "resourceGroup" else ctx.scope.level,
        )
        if sub is None:
            scope = DeploymentScope(ctx.scope.subscription_id, scope.resource_group, scope.level)
        options = _ci(raw_props, "expressionEvaluationOptions") or {}
        inner = str(_ci(options, "scope", "outer")).lower() == "inner"
        self.depth += 1
        outer_call = self.call
        name = render_name(decl.name)
        self.call = outer_call.into(name) if outer_call is not None else CallSite(name, self.origin, decl.line)
        try:
            if inner:
                supplied = self._nested_parameters(_ci(raw_props, "parameters"), ctx, decl)
                self.walk(template, supplied, scope)
            else:
                outer = Context({}, {}, scope)
                outer.param_defs, outer.supplied, outer.param_cache = ctx.param_defs, ctx.supplied, ctx.param_cache
                outer.var_defs, outer.var_cache, outer.symbols = ctx.var_defs, ctx.var_cache, ctx.symbols
                outer.var_loops, outer.definitions = ctx.var_loops, ctx.definitions
                outer.evaluator.specials.update(ctx.functions)
                outer.copy = dict(ctx.copy)
                self._walk_resources(template, outer)
        finally:
            self.depth -= 1
            self.call = outer_call

    def _nested_parameters(self, entries: Any, ctx: Context, decl: Declared) -> dict[str, Any]:
        """Values an inner-scope nested deployment passes to its template.

        An entry is ``{"value": ...}``, or an expression that evaluates to one (compiled Bicep
        writes ``"[if(..., createObject('value', x), createObject('value', y))]"``). A Key
        Vault ``reference`` entry, or one that cannot be evaluated, is unknown: never read."""
        if not isinstance(entries, dict):
            if entries is not None:
                self.errors.append(InputError(self.origin, "nested deployment parameters must be an object", decl.line))
            return {}
        supplied: dict[str, Any] = {}
        for name, entry in entries.items():
            evaluated = isinstance(entry, str)
            if evaluated:
                try:
                    entry = ctx.value(entry)
                except ExpressionError:
                    entry = UNKNOWN
            if isinstance(entry, dict) and "value" in {k.lower() for k in entry}:
                raw = _ci(entry, "value")
                supplied[name] = raw if evaluated else ctx.value(raw, lenient=True)
            else:
                supplied[name] = Unknown(label=f"parameters('{name}')")
        return supplied


def linked_template_notice(origin: str, line: int | None, link: Any, what: str = "linked template") -> None:
    """A linked template (``templateLink``) or parameter file (``parametersLink``) is not
    fetched: say so, so that what it holds is known to be unread rather than silently absent."""
    from kvaudit.scanner.sources import notice  # imported here: sources imports the loaders

    target = _ci(link, "uri") or _ci(link, "relativePath") or _ci(link, "id") if isinstance(link, dict) else None
    where = f"{origin}:{line}" if line is not None else origin
    named = f"the {what} {target}" if isinstance(target, str) else f"a {what}"
    notice(f"{where}: {named} is not followed; what it holds is not judged")


def suppressions_from_metadata(metadata: Any, comments: Any = None) -> list[tuple[str, str | None]]:
    """Inline suppressions of an ARM resource.

    Structured form (what Bicep's ``@metadata`` decorator also compiles to)::

        "metadata": {"kvaudit": {"ignore": [{"rule": "KV-NET-001", "reason": "..."}]}}

    ``ignore`` may also be a single object. The free-text ``comments`` property is read with the
    same ``kvaudit:ignore <rule> <reason>`` syntax as Bicep and Terraform comments.
    """
    out: list[tuple[str, str | None]] = []
    block = _ci(metadata, "kvaudit") if isinstance(metadata, dict) else None
    entries = _ci(block, "ignore") if isinstance(block, dict) else None
    if isinstance(entries, dict):
        entries = [entries]
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(_ci(entry, "rule"), str):
            reason = _ci(entry, "reason")
            out.append((_ci(entry, "rule"), reason if isinstance(reason, str) and reason.strip() else None))
    if isinstance(comments, str):
        for line in comments.splitlines():
            parsed = parse_suppression_comment(line)
            if parsed:
                out.append(parsed)
    return out


def parameter_values(doc: dict[str, Any]) -> dict[str, Any]:
    """Values of a deploymentParameters file; Key Vault secret references stay unknown."""
    out: dict[str, Any] = {}
    for name, entry in (_ci(doc, "parameters") or {}).items():
        if isinstance(entry, dict) and "value" in {k.lower() for k in entry}:
            out[name] = _ci(entry, "value")
        else:
            out[name] = UNKNOWN
    return out


def template_scope(doc: dict[str, Any]) -> DeploymentScope:
    """Deployment level from the template's $schema (resource group unless it says otherwise)."""
    schema = str(_ci(doc, "$schema", "")).lower()
    for marker, level in (
        ("subscriptiondeploymenttemplate", "subscription"),
        ("managementgroupdeploymenttemplate", "managementGroup"),
        ("tenantdeploymenttemplate", "tenant"),
    ):
        if marker in schema:
            return DeploymentScope(level=level)
    return DeploymentScope()


__all__ = ["TemplateWalker", "parameter_values", "suppressions_from_metadata", "template_scope", "is_known"]
