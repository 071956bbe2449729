"""Kubernetes manifests and Helm values files -> key references.

Workloads on AKS are configured in YAML: a Deployment's container ``env`` and ``args``, a
ConfigMap's ``data``, or a chart's ``values.yaml``. Their key settings (a vault URL, a key name
and an optional version, see :mod:`scanner.keyrefs`) are key consumers like any other: an
unpinned signer configured there must be as visible as one in a Container App.

The YAML is walked as a node graph (``yaml.compose_all``), never constructed into Python
objects: that keeps every node's line, lets an alias be visited once however often it is
referenced (no alias-bomb blow-up), and bounds the work by the file's size.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kvaudit.scanner.containment import read_bounded
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.inventory import Inventory, SourceInfo
from kvaudit.scanner.jsonio import decode_text, digest_bytes
from kvaudit.scanner.keyrefs import (
    UNRESOLVED,
    SettingsReference,
    find_in_arguments,
    find_in_settings,
    reference_path,
    reference_row,
)

SOURCE = "kubernetes"
MAX_YAML_BYTES = 4 * 1024 * 1024
#: Most nodes visited per file: far above any real manifest, a bound on hostile ones.
MAX_NODES = 500_000


def _yaml() -> Any:
    import yaml

    return yaml


class _Walker:
    """Visits a composed YAML graph once per node, keeping lines."""

    def __init__(self) -> None:
        self.seen: set[int] = set()
        self.count = 0

    def visit(self, node: Any) -> bool:
        if id(node) in self.seen:
            return False
        self.seen.add(id(node))
        self.count += 1
        if self.count > MAX_NODES:
            raise InputError("", f"more than {MAX_NODES} YAML nodes")
        return True


def _kind(node: Any) -> str:
    return type(node).__name__  # MappingNode | SequenceNode | ScalarNode


def _scalar(node: Any) -> Any:
    """A scalar's text; a null scalar is None (an empty setting), anything else unresolved."""
    if _kind(node) != "ScalarNode":
        return UNRESOLVED
    if node.tag.endswith(":null"):
        return None
    return node.value


def _items(node: Any) -> list[tuple[str, Any]]:
    if _kind(node) != "MappingNode":
        return []
    return [(k.value, v) for k, v in node.value if _kind(k) == "ScalarNode"]


def _get(node: Any, key: str) -> Any:
    for name, value in _items(node):
        if name == key:
            return value
    return None


def _env_settings(node: Any) -> dict[str, Any]:
    """A container ``env`` list: ``valueFrom`` (a secret or field ref) is an unresolved value."""
    settings: dict[str, Any] = {}
    if _kind(node) != "SequenceNode":
        return settings
    for entry in node.value:
        name = _get(entry, "name")
        if name is None or _kind(name) != "ScalarNode":
            continue
        value = _get(entry, "value")
        settings[name.value] = _scalar(value) if value is not None else UNRESOLVED
    return settings


def _arguments(node: Any) -> list[Any]:
    if _kind(node) != "SequenceNode":
        return []
    return [item.value if _kind(item) == "ScalarNode" else None for item in node.value]


class ManifestReader:
    """Key references of one YAML file (all of its documents)."""

    def __init__(self, origin: str):
        self.origin = origin
        self.rows: list[dict[str, Any]] = []
        self.walker = _Walker()

    def add(self, refs: list[SettingsReference], consumer_id: str, ctype: str, name: str | None, path: str, line: int):
        for index, ref in enumerate(refs):
            suffix = reference_path(path, ref, index)
            row = reference_row(ref, consumer_id=consumer_id, consumer_type=ctype, consumer_name=name, path=suffix)
            row.update(source=SOURCE, file=self.origin, line=line, api_version=None, defaults=[])
            self.rows.append(row)

    def document(self, index: int, root: Any) -> None:
        api_version, kind = _get(root, "apiVersion"), _get(root, "kind")
        if api_version is not None and kind is not None and _kind(kind) == "ScalarNode":
            self.kubernetes(index, root, kind.value)
        else:
            self.values(index, root)

    def kubernetes(self, index: int, root: Any, kind: str) -> None:
        metadata = _get(root, "metadata")
        name_node = _get(metadata, "name") if metadata is not None else None
        namespace_node = _get(metadata, "namespace") if metadata is not None else None
        name = name_node.value if name_node is not None and _kind(name_node) == "ScalarNode" else f"#{index}"
        namespace = (
            namespace_node.value if namespace_node is not None and _kind(namespace_node) == "ScalarNode" else "default"
        )
        consumer_id = f"kubernetes:{self.origin}/{kind}/{namespace}/{name}".lower()
        ctype = f"kubernetes/{kind}"
        if kind in ("ConfigMap",):
            data = _get(root, "data")
            settings = {k: _scalar(v) for k, v in _items(data)}
            self.add(find_in_settings(settings), consumer_id, ctype, name, "data", root.start_mark.line + 1)
        for container in self._containers(root):
            cname_node = _get(container, "name")
            cname = cname_node.value if cname_node is not None and _kind(cname_node) == "ScalarNode" else "container"
            line = container.start_mark.line + 1
            env = _get(container, "env")
            if env is not None:
                self.add(find_in_settings(_env_settings(env)), consumer_id, ctype, name, f"{cname}/env", line)
            args = [*_arguments(_get(container, "command")), *_arguments(_get(container, "args"))]
            if args:
                self.add(find_in_arguments(args), consumer_id, ctype, name, f"{cname}/args", line)

    def _containers(self, node: Any) -> Iterator[Any]:
        """Every mapping under ``containers`` or ``initContainers`` lists, at any depth."""
        stack = [node]
        while stack:
            current = stack.pop()
            if not self.walker.visit(current):
                continue
            for key, value in _items(current):
                if key in ("containers", "initContainers") and _kind(value) == "SequenceNode":
                    yield from (c for c in value.value if _kind(c) == "MappingNode")
                elif _kind(value) in ("MappingNode", "SequenceNode"):
                    stack.append(value)
            if _kind(current) == "SequenceNode":
                stack.extend(v for v in current.value if _kind(v) in ("MappingNode", "SequenceNode"))

    def values(self, index: int, root: Any) -> None:
        """Helm values (or any YAML): each mapping's scalar settings, named by their path."""
        consumer_id = f"helm:{self.origin}#{index}".lower()
        stack: list[tuple[Any, tuple[str, ...]]] = [(root, ())]
        while stack:
            node, path = stack.pop()
            if not self.walker.visit(node):
                continue
            if _kind(node) == "SequenceNode":
                stack.extend((item, path) for item in node.value)
                continue
            settings: dict[str, Any] = {}
            for key, value in _items(node):
                kind = _kind(value)
                if kind == "ScalarNode":
                    settings[".".join((*path, key))] = _scalar(value)
                elif key in ("env", "extraEnv", "extraEnvVars") and kind == "SequenceNode":
                    where = ".".join((*path, key))
                    self.add(
                        find_in_settings(_env_settings(value)),
                        consumer_id,
                        "helm-values",
                        None,
                        where,
                        value.start_mark.line + 1,
                    )
                else:
                    stack.append((value, (*path, key)))
            where = ".".join(path) or "values"
            self.add(find_in_settings(settings), consumer_id, "helm-values", None, where, node.start_mark.line + 1)


class TemplateFile(Exception):
    """A YAML file that is a template (``{{ ... }}``): skipped with a notice, not an error."""


def read_manifest(path: Path, origin: str) -> tuple[list[dict[str, Any]], str]:
    """Key reference rows of one YAML file and its digest; InputError when it cannot be read."""
    yaml = _yaml()
    data = read_bounded(path, origin, MAX_YAML_BYTES)
    text = decode_text(data, origin)
    reader = ManifestReader(origin)
    try:
        for index, root in enumerate(yaml.compose_all(text, Loader=yaml.SafeLoader)):
            if root is not None:
                reader.document(index, root)
    except yaml.YAMLError as exc:
        if "{{" in text:  # a Helm or Go template, which only becomes YAML when rendered
            raise TemplateFile(origin) from None
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise InputError(origin, f"invalid YAML: {problem}", mark.line + 1 if mark else None) from None
    except RecursionError:
        raise InputError(origin, "invalid YAML: nesting too deep") from None
    except InputError as exc:
        raise InputError(origin, exc.problem) from None
    return reader.rows, digest_bytes(data)


def load_manifests(paths: list[Path], root: Path) -> tuple[Inventory, list[InputError]]:
    """Every YAML file's key references (one unit per file)."""
    rows: list[dict[str, Any]] = []
    errors: list[InputError] = []
    sources: list[SourceInfo] = []
    base = root.resolve()
    for path in dict.fromkeys(paths):
        try:
            origin = path.resolve().relative_to(base).as_posix()
        except ValueError:
            origin = path.as_posix()
        try:
            found, digest = read_manifest(path, origin)
        except TemplateFile:
            from kvaudit.scanner.sources import notice

            notice(f"{origin}: skipped, a template that is YAML only once rendered")
            continue
        except InputError as exc:
            errors.append(exc)
            continue
        except OSError as exc:
            errors.append(InputError(origin, f"cannot read: {exc.strerror or type(exc).__name__}"))
            continue
        rows.extend(found)
        sources.append(SourceInfo(SOURCE, origin, digest))
    return Inventory.from_records({"key_references": rows}, sources=sources), errors
