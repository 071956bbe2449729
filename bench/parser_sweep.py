"""Parse a local copy of a public IaC repository with each candidate parser; count failures.

``python -m bench.parser_sweep DIR [--bicep] [--terraform]`` parses every ``.bicep`` and
``.bicepparam`` file under DIR with kvaudit's Bicep parser, pycep-parser and tree-sitter-bicep,
and every ``.tf`` file with python-hcl2 and pygohcl (and each ``.tf`` directory with tfparse),
whichever are installed. It prints the machine, the parse failures of each parser grouped by
their first error line, and the CPU time of each, so a parser choice rests on measurements of
real code rather than on our own fixtures. Nothing is written; the repository is not committed.
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


def _terraform_parsers() -> dict[str, Callable[[str], object]]:
    parsers: dict[str, Callable[[str], object]] = {}
    if importlib.util.find_spec("hcl2"):
        import hcl2

        parsers["python-hcl2"] = hcl2.loads
    if importlib.util.find_spec("pygohcl"):
        import pygohcl

        parsers["pygohcl"] = pygohcl.loads
    return parsers


def _report(kind: str, name: str, result: Result) -> None:
    count, failures, seconds = result
    print(f"{kind:9} {name:18} {count:6} inputs {sum(failures.values()):5} failures {seconds:7.2f} s CPU")
    for message, n in failures.most_common(5):
        print(f"{'':30}{n:5}  {message}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("--bicep", action="store_true")
    parser.add_argument("--terraform", action="store_true")
    args = parser.parse_args(argv)
    both = not (args.bicep or args.terraform)
    root = args.directory
    print(f"machine: {_machine()}; input: {root}")
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


if __name__ == "__main__":
    main()
