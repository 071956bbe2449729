"""Parse a local copy of a public IaC repository with each candidate parser; count failures.

``python -m bench.parser_sweep DIR [--bicep] [--terraform] [--arm]`` parses every ``.bicep`` and
``.bicepparam`` file under DIR with kvaudit's Bicep parser, pycep-parser and tree-sitter-bicep,
and every ``.tf`` file with kvaudit's HCL parser, python-hcl2 and pygohcl (and each ``.tf``
directory with tfparse), whichever are installed. It prints the machine, the parse failures of each parser grouped by
their first error line, and the CPU time of each, so a parser choice rests on measurements of
real code rather than on our own fixtures. Nothing is written; the repository is not committed.

For Terraform it also measures fidelity against python-hcl2 (``bench.hcl_parsers`` compares
kvaudit's own parser with it by meaning): every attribute
value is flattened to ``(path, value)`` and each value is classed as the same literal, a
different literal, an expression that came back as plain text (so it can no longer be told
from a literal), or missing; tfparse's resources are compared by address and start line.
``--units`` loads DIR as ``kvaudit scan DIR`` does (every ARM template, Bicep entry file with
its modules and Terraform root module, each unit on its own) and reports the load errors by
first line, and every UNKNOWN cell (a column named in a row's ``unresolved`` provenance) by
source, table and column, and by cause: the expression written at that property, found in the
row's file from its declaration line on and classed by its leading construct (a variable or
parameter without a value, a resource or data attribute known only after apply, a function
known only at deployment such as ``reference()``, a module output, a conditional, ...).
The cause is read from the text, so it is a classification for triage, not the evaluator's own.

The Terraform candidates need no kvaudit install, so they can run from a separate venv:
``/work/pvenv/bin/python -m bench.parser_sweep DIR --terraform``.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

Result = tuple[int, collections.Counter[str], float]


def _machine() -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def _run(files: list[Path], parse: Callable[[str], object]) -> Result:
    failures: collections.Counter[str] = collections.Counter()
    start = time.process_time()
    for path in files:
        try:
            parse(path.read_text(encoding="utf-8-sig", errors="replace"))
        except Exception as exc:  # noqa: BLE001 - each parser raises its own types
            failures[(str(exc).strip().splitlines() or [type(exc).__name__])[0][:80]] += 1
    return len(files), failures, time.process_time() - start


def _bicep_parsers() -> dict[str, Callable[[str], object]]:
    from kvaudit.scanner.iac.bicep.parser import parse

    parsers: dict[str, Callable[[str], object]] = {"kvaudit": parse}
    if importlib.util.find_spec("pycep"):
        from pycep import BicepParser

        pycep = BicepParser()
        parsers["pycep-parser"] = lambda text: pycep.parse(text=text)
    if importlib.util.find_spec("tree_sitter_bicep"):
        import tree_sitter
        import tree_sitter_bicep

        ts = tree_sitter.Parser(tree_sitter.Language(tree_sitter_bicep.language()))

        def tree_sitter_parse(text: str) -> object:
            tree = ts.parse(text.encode())
            if tree.root_node.has_error:
                raise ValueError("syntax error")
            return tree

        parsers["tree-sitter-bicep"] = tree_sitter_parse
    return parsers


Leaf = tuple[str, object]


def _flatten(
    value: object, path: tuple[str, ...], out: collections.Counter[tuple[tuple[str, ...], Leaf]], quoted: bool
) -> None:
    """``(path, leaf)`` pairs of a parsed file; list indices are dropped (repeated blocks and
    tuple items become repeated pairs), and so are python-hcl2's quotes around labels."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.startswith("__") and key.endswith("__"):
                continue
            name = key[1:-1] if quoted and len(key) > 1 and key[0] == key[-1] == '"' else key
            _flatten(item, (*path, name), out, quoted)
    elif isinstance(value, list):
        for item in value:
            _flatten(item, path, out, quoted)
    else:
        out[(path, _leaf(value, quoted))] += 1


def _leaf(value: object, quoted: bool) -> Leaf:
    if not isinstance(value, str):
        return ("literal", value)
    if not quoted:
        return ("text", value)
    if len(value) > 1 and value[0] == value[-1] == '"' and "${" not in value:
        # python-hcl2 keeps escapes as written; HCL's own parser decodes them
        return ("literal", value[1:-1].encode("latin-1", "backslashreplace").decode("unicode_escape", "replace"))
    if value.startswith("<<") and "\n" in value and "${" not in value:  # heredoc: compare its body
        body = value.split("\n", 1)[1].rsplit("\n", 1)[0]
        if value.startswith("<<-"):
            body = "\n".join(line.strip() for line in body.split("\n"))
        return ("literal", body + "\n")
    return ("expression", value)


def terraform_fidelity(files: list[Path]) -> dict[str, int]:
    """pygohcl against python-hcl2, value by value (see the module docstring)."""
    import hcl2
    import pygohcl

    tally: collections.Counter[str] = collections.Counter()
    for path in files:
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        try:
            reference, candidate = hcl2.loads(text), pygohcl.loads(text)
        except Exception:  # noqa: BLE001 - failures are counted by the speed pass
            tally["files not compared (a parser failed)"] += 1
            continue
        ours: collections.Counter[tuple[tuple[str, ...], Leaf]] = collections.Counter()
        theirs: collections.Counter[tuple[tuple[str, ...], Leaf]] = collections.Counter()
        _flatten(reference, (), ours, quoted=True)
        _flatten(candidate, (), theirs, quoted=False)
        by_path: dict[tuple[str, ...], list[Leaf]] = collections.defaultdict(list)
        for (leaf_path, leaf), n in theirs.items():
            by_path[leaf_path].extend([leaf] * n)
        same_file = True
        for (leaf_path, (kind, value)), n in ours.items():
            for _ in range(n):
                tally["values"] += 1
                pool = by_path.get(leaf_path, [])
                if not pool:
                    tally["missing in pygohcl"] += 1
                    same_file = False
                elif kind == "literal" and ("literal", value) in pool:
                    pool.remove(("literal", value))
                    tally["same literal"] += 1
                elif kind == "literal" and ("text", value) in pool:
                    pool.remove(("text", value))
                    tally["same literal"] += 1
                elif kind == "expression":
                    pool.pop()
                    tally["expression returned as plain text"] += 1
                    same_file = False
                else:
                    pool.pop()
                    tally["different literal"] += 1
                    same_file = False
        tally["files"] += 1
        tally["files with every value the same"] += same_file
    return dict(tally)


def _block_lines(text: str) -> dict[str, int]:
    """``type.name`` of each resource and data block -> its start line, from python-hcl2's tree."""
    import hcl2

    lines: dict[str, int] = {}
    body = next((k for k in hcl2.parses_to_tree(text).children if getattr(k, "data", None) == "body"), None)
    for block in getattr(body, "children", []):
        if getattr(block, "data", None) != "block":
            continue
        names = [
            "".join(str(t) for t in kid.scan_values(lambda v: True)).strip('"')
            for kid in block.children
            if getattr(kid, "data", None) in ("identifier", "string")
        ]
        if names and names[0] in ("resource", "data") and len(names) >= 3:
            prefix = "data." if names[0] == "data" else ""
            lines[f"{prefix}{names[1]}.{names[2]}"] = block.meta.line
    return lines


def tfparse_fidelity(directories: list[Path]) -> dict[str, int]:
    """tfparse's resources against python-hcl2's blocks: address found, same start line, and
    attributes python-hcl2 holds as an expression that tfparse gives as null."""
    import hcl2
    import tfparse

    tally: collections.Counter[str] = collections.Counter()
    for directory in directories:
        expected: dict[str, int] = {}
        expressions: dict[str, set[str]] = {}
        for path in sorted(directory.glob("*.tf")):
            try:
                text = path.read_text(encoding="utf-8-sig", errors="replace")
                expected.update({f"{path.name}:{k}": v for k, v in _block_lines(text).items()})
                for block in hcl2.loads(text).get("resource", []):
                    for rtype, named in block.items():
                        for rname, attrs in named.items():
                            address = f"{path.name}:{rtype.strip(chr(34))}.{rname.strip(chr(34))}"
                            expressions[address] = {
                                k for k, v in attrs.items() if isinstance(v, str) and v.startswith("${")
                            }
            except Exception:  # noqa: BLE001
                continue
        try:
            loaded = tfparse.load_from_path(str(directory))
        except Exception:  # noqa: BLE001
            tally["directories tfparse failed"] += 1
            continue
        seen: set[str] = set()
        for items in loaded.values():
            for item in items if isinstance(items, list) else []:
                meta = item.get("__tfmeta", {})
                if meta.get("type") not in ("resource", "data"):
                    continue
                base = meta.get("path", "").split("[")[0]
                key = f"{Path(meta.get('filename', '')).name}:{base}"
                if key not in expected or key in seen:
                    continue
                seen.add(key)
                tally["blocks matched"] += 1
                tally["same start line"] += meta.get("line_start") == expected[key]
                for name in expressions.get(key, ()):
                    tally["expression attributes"] += 1
                    tally["expression given as null"] += item.get(name) is None
        tally["blocks in python-hcl2"] += len(expected)
        tally["directories"] += 1
    return dict(tally)


#: Leading constructs of an expression, in the order they are tried (first match wins).
_CAUSES: list[tuple[str, str]] = [
    (r"^\[?\s*reference\(", "reference() (deployment time)"),
    (r"^\[?\s*list\w*\(", "list*() (deployment time)"),
    (r"^\[?\s*(utcNow|newGuid|deployer)\(", "utcNow/newGuid/deployer (deployment time)"),
    (r"^\[?\s*parameters\(", "ARM parameter without a value"),
    (r"^\[?\s*variables\(", "ARM variable"),
    (r"^\[?\s*(subscription|resourceGroup|tenant|managementGroup)\(\)", "deployment scope function"),
    (r"^\$?\{?\s*var\.", "Terraform variable without a value"),
    (r"^\$?\{?\s*local\.", "Terraform local"),
    (r"^\$?\{?\s*data\.", "data source attribute (known after apply)"),
    (r"^\$?\{?\s*module\.", "module output"),
    (r"^\$?\{?\s*(each|count)\.", "each/count"),
    (r"^\$?\{?\s*(try|lookup|coalesce|can)\(", "try/lookup/coalesce"),
    (r"^\$?\{?\s*azurerm_\w+\.|^\$?\{?\s*azapi_\w+\.|^\$?\{?\s*random_\w+\.", "resource attribute (known after apply)"),
    (r"^(true|false|null|-?\d+|\"[^\"$]*\"|'[^'$]*')\s*,?$", "literal (unresolved elsewhere: enclosing block)"),
    (r"\?\?", "null-coalescing (??) on a parameter"),
    (r"\.\?", "safe member access (.?) on a parameter"),
    (r"\?.*:", "conditional"),
    (r"^\w+\.(value|key)\b", "dynamic block or for iterator"),
    (r"^\w+\.(outputs|properties|id|name)\b", "Bicep resource or module output"),
    (r"^\w+\(", "function call"),
    (r"^\w+(\.\w+|\[)", "member of a Bicep parameter, loop item or resource"),
    (r"^\w+\s*,?$", "Bicep parameter or variable without a value"),
]


def _expression_at(lines: list[str], start: int, names: list[str]) -> str | None:
    """The text written after ``name =``/``name:`` for the first of ``names`` found on or after
    line ``start`` (1-based) of a file, within 200 lines."""
    import re

    for name in names:
        pattern = re.compile(rf"""^\s*["']?{re.escape(name)}["']?\s*[:=]\s*(.*)$""", re.I)
        for text in lines[max(start - 1, 0) : start + 200]:
            found = pattern.match(text)
            if found and found.group(1).strip() not in ("", "{", "[", "{{"):
                return found.group(1).strip()
    return None


def _cause(expression: str | None) -> str:
    import re

    if expression is None:
        return "property not found in the text (set through a whole-object expression)"
    text = expression.strip().strip('"')
    for pattern, cause in _CAUSES:
        if re.search(pattern, text):
            return cause
    return "other expression"


def unit_sweep(root: Path) -> None:
    """Load ``root`` as ``kvaudit scan`` does; print errors, UNKNOWN cells and their causes."""
    from kvaudit.scanner.fields import FIELDS
    from kvaudit.scanner.sources import load_sources

    start = time.process_time()
    loaded = load_sources([str(root)], root=root)
    seconds = time.process_time() - start
    errors: collections.Counter[str] = collections.Counter()
    for error in loaded.errors:
        errors[str(error).split(": ", 1)[-1][:90]] += 1
    declared: collections.Counter[str] = collections.Counter()
    cells: collections.Counter[tuple[str, str, str]] = collections.Counter()
    causes: collections.Counter[tuple[str, str]] = collections.Counter()
    examples: dict[tuple[str, str], str] = {}
    texts: dict[str, list[str]] = {}
    for table, frame in loaded.inventory.tables.items():
        if "unresolved" not in frame or not len(frame):
            continue
        for row in frame.to_dict(orient="records"):
            declared[f"{row.get('source')}:{table}"] += 1
            for column in row.get("unresolved") or []:
                source = str(row.get("source"))
                cells[(source, table, column)] += 1
                spec = FIELDS.get(table, {}).get(column)
                names = [column]
                if spec is not None:
                    paths = [*spec.azurerm.values()] if source.startswith("terraform") else [*spec.rest.values()]
                    names = [p.replace("[*]", "").split(".")[-1] for p in paths if p] + names
                file = row.get("file")
                lines = texts.get(file) if isinstance(file, str) else None
                if isinstance(file, str) and lines is None:
                    try:
                        lines = texts[file] = (
                            (root / file).read_text(encoding="utf-8-sig", errors="replace").splitlines()
                        )
                    except OSError:
                        lines = texts[file] = []
                line = row.get("line")
                expression = _expression_at(lines or [], int(line) if line == line and line else 1, names)
                key = (source, _cause(expression))
                causes[key] += 1
                examples.setdefault(key, f"{file}:{line} {column} = {(expression or '')[:60]}")
    print(f"units     {root}: {sum(declared.values())} rows, {len(loaded.errors)} errors, {seconds:.1f} s CPU")
    for message, n in errors.most_common(10):
        print(f"  error {n:5}  {message}")
    print(f"  rows by source and table: {dict(sorted(declared.items()))}")
    print(f"  UNKNOWN cells: {sum(cells.values())}")
    for (source, table, column), n in cells.most_common(25):
        print(f"  unknown {n:5}  {source:10} {table}.{column}")
    for (source, cause), n in causes.most_common(25):
        print(f"  cause {n:5}  {source:10} {cause:55} e.g. {examples[(source, cause)]}")


def _terraform_parsers() -> dict[str, Callable[[str], object]]:
    from kvaudit.scanner.iac.terraform import hcl_syntax

    parsers: dict[str, Callable[[str], object]] = {"kvaudit (hcl_syntax)": hcl_syntax.parse}
    if importlib.util.find_spec("hcl2"):
        import hcl2

        parsers["python-hcl2 (tree)"] = hcl2.parses_to_tree
        parsers["python-hcl2 (dict)"] = hcl2.loads
    if importlib.util.find_spec("pygohcl"):
        import pygohcl

        parsers["pygohcl"] = pygohcl.loads
    return parsers


def _report(kind: str, name: str, result: Result) -> None:
    count, failures, seconds = result
    print(f"{kind:9} {name:18} {count:6} inputs {sum(failures.values()):5} failures {seconds:7.2f} s CPU")
    for message, n in failures.most_common(5):
        print(f"{'':30}{n:5}  {message}")


def arm_sweep(root: Path) -> None:
    """Every ARM template or parameters file under ``root`` loaded on its own, as ``kvaudit scan``
    loads one (the same isolation and evaluation budget); failures by their problem text."""
    from kvaudit.scanner import containment
    from kvaudit.scanner.errors import InputError
    from kvaudit.scanner.sources import _classify_json, _load_kind

    files: list[Path] = []
    for path in sorted(root.rglob("*.json")):
        try:
            if _classify_json(path, explicit=False) == "arm":
                files.append(path)
        except InputError:
            continue
    failures: collections.Counter[str] = collections.Counter()
    start = time.process_time()
    with containment.roots([root]):
        for path in files:
            _, errors = _load_kind("arm", [path], root)
            for error in errors:
                failures[error.problem[:90]] += 1
    _report("arm", "kvaudit", (len(files), failures, time.process_time() - start))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--bicep", action="store_true")
    parser.add_argument("--terraform", action="store_true")
    parser.add_argument("--arm", action="store_true", help="load every ARM template file on its own")
    parser.add_argument("--fidelity", action="store_true", help="compare Terraform parsers value by value")
    parser.add_argument("--units", action="store_true", help="load DIR as kvaudit scan does; errors, UNKNOWN causes")
    args = parser.parse_args(argv)
    both = not (args.bicep or args.terraform)
    root = args.directory
    print(f"machine: {_machine()}; input: {root}")
    if args.units:
        unit_sweep(root.resolve())
        return
    if args.arm:
        arm_sweep(root.resolve())
        return
    if args.bicep or both:
        files = sorted(root.rglob("*.bicep")) + sorted(root.rglob("*.bicepparam"))
        for name, parse in _bicep_parsers().items():
            _report("bicep", name, _run(files, parse))
    if args.terraform or both:
        files = sorted(root.rglob("*.tf"))
        for name, parse in _terraform_parsers().items():
            _report("terraform", name, _run(files, parse))
        if importlib.util.find_spec("tfparse"):
            import tfparse

            directories = sorted({p.parent for p in files})
            start = time.process_time()
            failures: collections.Counter[str] = collections.Counter()
            for directory in directories:
                try:
                    tfparse.load_from_path(str(directory))
                except Exception as exc:  # noqa: BLE001
                    failures[str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__] += 1
            _report("terraform", "tfparse (dirs)", (len(directories), failures, time.process_time() - start))
        if args.fidelity and importlib.util.find_spec("hcl2"):
            if importlib.util.find_spec("pygohcl"):
                print(f"fidelity  pygohcl vs python-hcl2: {terraform_fidelity(files)}")
            if importlib.util.find_spec("tfparse"):
                directories = sorted({p.parent for p in files})
                print(f"fidelity  tfparse vs python-hcl2: {tfparse_fidelity(directories)}")


if __name__ == "__main__":
    main()
