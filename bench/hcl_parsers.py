"""HCL parsers compared: kvaudit's own (scanner.iac.terraform.hcl_syntax) against python-hcl2's
Lark grammar, and pygohcl (HashiCorp's Go parser) where it is installed.

    pip install -e '.[bench]'   # python-hcl2 and pygohcl, never runtime dependencies
    python -m bench.hcl_parsers [DIR ...] [--runs 5]

Fidelity is judged on what the scanner uses, file by file: the blocks (type, labels, first and
last line), the attributes (name, line) and the *value* of every attribute expression, evaluated
by the scanner's evaluator with every variable reference given a symbolic value
(``<var.name>``), so two trees that mean the same count as equal whatever their shape. A file
one parser reads and the other rejects is listed by cause. pygohcl returns a dict of rendered
strings without line numbers or expression trees, so for it only speed and whether it parses
are reported. Speed is parse time alone (no reading, no evaluation), median of ``--runs``.
"""

from __future__ import annotations

import argparse
import importlib.util
import time
from collections import Counter
from pathlib import Path
from typing import Any

from bench.common import ROOT, header, median
from kvaudit.scanner.errors import InputError
from kvaudit.scanner.iac.terraform import hcl_syntax
from kvaudit.scanner.iac.terraform.evaluate import Evaluator
from kvaudit.scanner.iac.terraform.functions import EvalError
from kvaudit.scanner.iac.terraform.hcl import parse_text
from kvaudit.scanner.iac.terraform.values import UNKNOWN

DEFAULT_DIRS = [ROOT / "examples" / "iac" / "terraform", ROOT / "tests" / "fixtures"]


class _SymbolicScope:
    """Every traversal root becomes a string naming it, so references compare as text."""

    def root(self, name: str, attrs: list[str]) -> tuple[Any, int]:
        return f"<{'.'.join([name, *attrs])}>", len(attrs)


def _value(expr: object) -> Any:
    try:
        value = Evaluator(_SymbolicScope()).evaluate(expr)
    except EvalError as exc:
        return ("error", str(exc))
    except RecursionError:
        return ("error", "recursion")
    return "UNKNOWN" if value is UNKNOWN else repr(value)


# --- python-hcl2's Lark tree, reduced to the same structure -------------------------------------


def _is_tree(node: object) -> bool:
    return hasattr(node, "data") and hasattr(node, "children")


def _lark_label(node: Any) -> str:
    if _is_tree(node):
        if node.data == "string":
            return "".join(
                hcl_syntax.unescape(str(p.children[0]))
                for p in node.children
                if _is_tree(p) and not _is_tree(p.children[0])
            )
        return "".join(_lark_label(k) for k in node.children)
    return str(node)


def _lark_body(body: Any) -> list[tuple]:
    items: list[tuple] = []
    for kid in body.children:
        if not _is_tree(kid):
            continue
        if kid.data == "attribute":
            parts = [c for c in kid.children if _is_tree(c)]
            items.append(("attr", _lark_label(parts[0]), kid.meta.line, _value(parts[-1])))
        elif kid.data == "block":
            names, inner = [], None
            for part in kid.children:
                if _is_tree(part):
                    if part.data == "body":
                        inner = part
                    elif part.data in ("identifier", "keyword", "literal_value", "string"):
                        names.append(_lark_label(part))
            nested = _lark_body(inner) if inner is not None else []
            items.append(("block", names[0], tuple(names[1:]), kid.meta.line, kid.meta.end_line, tuple(nested)))
    return items


def lark_structure(text: str) -> list[tuple]:
    import hcl2

    tree = hcl2.parses_to_tree(text)
    body = next((k for k in tree.children if _is_tree(k) and k.data == "body"), None)
    return _lark_body(body) if body is not None else []


# --- kvaudit's parser, reduced the same way -----------------------------------------------------


def _own_items(blocks: list[Any], attrs: dict[str, Any]) -> list[tuple]:
    items: list[tuple] = [("attr", a.name, a.line, _value(a.expr)) for a in attrs.values()]
    for b in blocks:
        nested = tuple(_own_items(b.blocks, b.attrs))
        items.append(("block", b.type, tuple(b.labels), b.line, b.end_line, nested))
    return items


def own_structure(text: str) -> list[tuple]:
    parsed = parse_text(text, "x.tf")
    return _own_items(parsed.blocks, parsed.attrs)


def _canonical(items: list[tuple]) -> list[tuple]:
    """Attributes and blocks in one order (the Lark walk keeps source order, ours groups)."""
    out = []
    for item in items:
        if item[0] == "block":
            out.append((*item[:5], tuple(_canonical(list(item[5])))))
        else:
            out.append(item)
    return sorted(out, key=repr)


def _first_difference(a: list[tuple], b: list[tuple]) -> str:
    for left, right in zip(a, b, strict=False):
        if left != right:
            if left[0] == right[0] == "block" and left[:5] == right[:5]:
                return _first_difference(list(left[5]), list(right[5]))
            return f"{str(left)[:160]} != {str(right)[:160]}"
    return f"{len(a)} items != {len(b)} items"


def _files(dirs: list[Path]) -> list[Path]:
    found: list[Path] = []
    for directory in dirs:
        found += sorted(p for p in directory.rglob("*.tf") if p.is_file() and ".terraform" not in p.parts)
    return found


def _time(parse: Any, texts: list[str], runs: int) -> tuple[float, int]:
    """Median seconds to parse every text once, and how many texts parsed."""
    timings, ok = [], 0
    for _ in range(runs):
        ok = 0
        start = time.perf_counter()
        for text in texts:
            try:
                parse(text)
                ok += 1
            except Exception:  # noqa: BLE001 - a parse failure is counted, not fatal
                pass
        timings.append(time.perf_counter() - start)
    return median(timings), ok


def _own_parse(text: str) -> None:
    hcl_syntax.parse(text)


def _lark_parse(text: str) -> None:
    import hcl2

    hcl2.parses_to_tree(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dirs", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    dirs = args.dirs or DEFAULT_DIRS
    if importlib.util.find_spec("hcl2") is None:
        raise SystemExit("python-hcl2 is not installed: pip install -e '.[bench]'")
    files = _files(dirs)
    texts = []
    for path in files:
        raw = path.read_bytes()
        try:
            texts.append(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            texts.append("")
    size = sum(len(t) for t in texts)
    header(
        "HCL parsers: kvaudit's own against python-hcl2 (Lark) and pygohcl",
        f"{len(files)} .tf files, {size / 1024:.0f} KiB, under {', '.join(str(d) for d in dirs)}",
    )

    outcomes: Counter[str] = Counter()
    differences: Counter[str] = Counter()
    examples: dict[str, str] = {}
    for path, text in zip(files, texts, strict=True):
        try:
            theirs: list[tuple] | None = _canonical(lark_structure(text))
            their_error = None
        except Exception as exc:  # noqa: BLE001
            theirs, their_error = None, type(exc).__name__
        try:
            ours: list[tuple] | None = _canonical(own_structure(text))
            our_error = None
        except InputError as exc:
            ours, our_error = None, exc.problem.removeprefix("invalid HCL: ").split(",")[0]
        if theirs is not None and ours is not None:
            if theirs == ours:
                outcomes["both read, same blocks, lines and values"] += 1
            else:
                outcomes["both read, different"] += 1
                cause = _first_difference(ours, theirs)
                differences[cause[:60]] += 1
                examples.setdefault(cause[:60], f"{path}: {cause}")
        elif ours is not None:
            outcomes[f"only kvaudit reads it (python-hcl2: {their_error})"] += 1
            examples.setdefault(f"lark {their_error}", str(path))
        elif theirs is not None:
            outcomes[f"only python-hcl2 reads it (kvaudit: {our_error})"] += 1
            examples.setdefault(f"own {our_error}", str(path))
        else:
            outcomes["neither reads it"] += 1
    print("\nfidelity (per file):")
    for outcome, count in outcomes.most_common():
        print(f"  {count:6d}  {outcome}")
    for cause, count in differences.most_common(10):
        print(f"  difference x{count}: {examples[cause]}")
    for key, example in examples.items():
        if key.startswith(("lark ", "own ")):
            print(f"  e.g. {key}: {example}")

    print(f"\nparse speed (median of {args.runs} runs over all files):")
    own_s, own_ok = _time(_own_parse, texts, args.runs)
    lark_s, lark_ok = _time(_lark_parse, texts, args.runs)
    rows = [("kvaudit hcl_syntax", own_s, own_ok), ("python-hcl2 (Lark)", lark_s, lark_ok)]
    try:
        import pygohcl

        go_s, go_ok = _time(pygohcl.loads, texts, args.runs)
        rows.append(("pygohcl (Go)", go_s, go_ok))
    except ImportError:
        print("  pygohcl not installed (pip install pygohcl) - skipped")
    for name, seconds, ok in rows:
        per_file = seconds / max(len(texts), 1) * 1000
        print(
            f"  {name:20s} {seconds:7.3f} s  {per_file:6.2f} ms/file  parsed {ok}/{len(texts)}  {size / 1024 / seconds:8.0f} KiB/s"
        )
    print(f"  ratio kvaudit / python-hcl2: {own_s / lark_s:.3f}")


if __name__ == "__main__":
    main()
