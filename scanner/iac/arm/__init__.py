"""ARM templates (and compiled Bicep JSON) -> the inventory.

Entry points for the CLI: :func:`load_arm`, :func:`is_arm_template`, :func:`is_arm_parameters`.
Each file that cannot be read gives one :class:`InputError`; the other files are still loaded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kvaudit.scanner.containment import read_bounded
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.arm.functions import DeploymentScope
from kvaudit.scanner.iac.arm.mapping import map_declared
from kvaudit.scanner.iac.arm.positions import line_of, load_positioned
from kvaudit.scanner.iac.arm.resources import Declared
from kvaudit.scanner.iac.arm.template import (
    TemplateWalker,
    _ci,
    linked_template_notice,
    parameter_values,
    template_scope,
)
from kvaudit.scanner.iac.arm.values import Unknown
from kvaudit.scanner.iac.identity import Units, unit_of
from kvaudit.scanner.inventory import Inventory, SourceInfo
from kvaudit.scanner.jsonio import digest_bytes

#: Azure refuses templates over 4 MB; allow pretty-printing slack, refuse anything larger.
MAX_TEMPLATE_BYTES = 8 * 1024 * 1024


def is_arm_template(doc: object) -> bool:
    """A deploymentTemplate document (by $schema, or by the shape of a template)."""
    if not isinstance(doc, dict):
        return False
    schema = str(doc.get("$schema", "")).lower()
    if "deploymenttemplate.json" in schema:
        return True
    return "resources" in doc and "contentVersion" in doc and "parameters" not in schema


def deployment_wrapper(doc: object) -> dict[str, Any] | None:
    """The ``properties`` of a deployment resource stored as a file, or None.

    ``az deployment ... export``, the deployments REST API and some pipelines keep a deployment
    as ``{"properties": {"mode": ..., "template": {...}, "parameters": {...}}}`` (sometimes with
    the deployment's ``id``/``name``/``type`` around it), or with a ``templateLink`` in place of
    the template. Only that shape counts: ``template`` must be a template, or ``templateLink``
    a link with a ``mode``, so that a JSON schema with a "template" property is not one.
    """
    if not isinstance(doc, dict) or is_arm_template(doc):
        return None
    props = _ci(doc, "properties")
    if not isinstance(props, dict):
        return None
    template = _ci(props, "template")
    if isinstance(template, dict) and is_arm_template(template):
        return props
    link = _ci(props, "templateLink")
    mode = _ci(props, "mode")
    if template is None and isinstance(link, dict) and isinstance(mode, str):
        return props
    return None


def is_arm_parameters(doc: object) -> bool:
    """A deploymentParameters document (``az deployment ... --parameters @file``)."""
    if not isinstance(doc, dict):
        return False
    schema = str(doc.get("$schema", "")).lower()
    if "deploymentparameters.json" in schema:
        return True
    return "parameters" in doc and "contentVersion" in doc and "resources" not in doc


def relative(path: Path, root: Path) -> str:
    """Repo-relative posix path for the ``file`` column (absolute when outside ``root``)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.resolve().as_posix()


def read_json_file(path: Path, origin: str) -> tuple[Any, bytes]:
    """Read and decode one JSON file within the template size limit."""
    data = read_bounded(path, origin, MAX_TEMPLATE_BYTES)
    return load_positioned(data, origin, MAX_TEMPLATE_BYTES), data


def _stem(name: str) -> str:
    lower = name.lower()
    for suffix in (".json", ".jsonc"):
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _template_for(param_path: Path, templates: dict[Path, Any]) -> Path | None:
    """``x.parameters.json`` / ``x.parameters.dev.json`` belong to ``x.json``; a lone template
    takes any parameter file passed with it."""
    pname = param_path.name.lower()
    for tpath in templates:
        stem = _stem(tpath.name).lower()
        if pname.startswith(stem + ".parameters") or pname.startswith(stem + ".") and ".parameters" in pname:
            return tpath
    return next(iter(templates)) if len(templates) == 1 else None


def declare_template(
    doc: dict[str, Any], origin: str, supplied: dict[str, Any] | None = None, source: str = "arm"
) -> tuple[list[Declared], list[InputError]]:
    """Evaluate one template document into declarations (used by the Bicep loader too)."""
    walker = TemplateWalker(origin, source)
    walker.walk(doc, supplied or {}, template_scope(doc))
    return walker.declared, walker.errors


def _wrapper_parameters(wrapper: dict[str, Any], template: dict[str, Any], origin: str) -> dict[str, Any]:
    """The values a wrapped deployment passes. A ``parametersLink`` is not fetched, so every
    parameter of the template is unknown then (its default may well be overridden there)."""
    link = _ci(wrapper, "parametersLink")
    if link is not None:
        linked_template_notice(origin, line_of(wrapper), link, what="linked parameters")
        declared = _ci(template, "parameters")
        return {name: Unknown(label=f"parameters('{name}')") for name in declared} if isinstance(declared, dict) else {}
    return parameter_values({"parameters": _ci(wrapper, "parameters") or {}})


def load_arm(paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    """Load ARM templates and their parameter files into one inventory.

    Each template file is one unit: it is mapped on its own, so its references resolve only
    inside it, and its ids carry its path (:mod:`scanner.iac.identity`).

    Parameter files are matched to templates by name (``x.parameters.json`` -> ``x.json``, also
    when passed explicitly). JSON files that are neither a template nor a parameter file are
    ignored, so a directory scan does not fail on ``package.json``.
    """
    errors: list[InputError] = []
    templates: dict[Path, Any] = {}
    parameters: dict[Path, Any] = {}
    sources: list[SourceInfo] = []
    wrapped: dict[Path, dict[str, Any]] = {}
    candidates = list(dict.fromkeys(paths))
    for path in candidates:
        origin = relative(path, root)
        try:
            doc, data = read_json_file(path, origin)
        except InputError as exc:
            errors.append(exc)
            continue
        wrapper = deployment_wrapper(doc)
        if wrapper is not None:
            template = _ci(wrapper, "template")
            if not isinstance(template, dict):
                linked_template_notice(origin, line_of(wrapper), _ci(wrapper, "templateLink"))
            else:
                templates[path] = template
                wrapped[path] = _wrapper_parameters(wrapper, template, origin)
        elif is_arm_template(doc):
            templates[path] = doc
        elif is_arm_parameters(doc):
            parameters[path] = doc
        else:
            continue
        sources.append(SourceInfo("arm", origin, digest_bytes(data)))
    for path in sorted(p.parent / (_stem(p.name) + ".parameters.json") for p in templates):
        if path not in parameters and path.is_file() and path not in candidates:
            try:
                doc, data = read_json_file(path, relative(path, root))
            except InputError as exc:
                errors.append(exc)
                continue
            if is_arm_parameters(doc):
                parameters[path] = doc
                sources.append(SourceInfo("arm", relative(path, root), digest_bytes(data)))
    supplied: dict[Path, dict[str, Any]] = dict(wrapped)
    for ppath, pdoc in parameters.items():
        target = _template_for(ppath, templates)
        if target is not None and target not in supplied:
            supplied[target] = parameter_values(pdoc)
    units = Units()
    for tpath, doc in templates.items():
        found, problems = declare_template(doc, relative(tpath, root), supplied.get(tpath))
        errors.extend(problems)
        units.add(unit_of(tpath, root), *map_declared(found))
    return units.inventory(sources), errors


__all__ = [
    "DeploymentScope",
    "declare_template",
    "deployment_wrapper",
    "is_arm_parameters",
    "is_arm_template",
    "load_arm",
]
