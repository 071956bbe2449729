"""``python -m tests.hostile.report``: scan the whole corpus and print the outcome per class.

The table gives, for each class of hostile input, how many cases there are, the exit codes
seen, the worst time and peak memory of one scan, and how many cases broke the contract (with
the first problem of each). ``-j N`` runs N scans at a time (times then include contention).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.hostile.corpus import cases
from tests.hostile.runner import Case, Outcome, problems, run


def baselines(base: Path) -> dict[str, set[tuple[str, str]]]:
    """The good file's findings when it is scanned alone, per language."""
    return {
        kind: run(Case("baseline", kind, kind, {}, args=[]), base).findings("kv-good")
        for kind in ("arm", "bicep", "terraform")
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-j", "--jobs", type=int, default=1)
    parser.add_argument("-k", "--match", default="", help="only cases whose class-name contains this")
    args = parser.parse_args(argv)
    selected = [c for c in cases() if args.match in f"{c.klass}-{c.name}"]
    with tempfile.TemporaryDirectory(prefix="kvaudit-hostile-") as tmp:
        base = Path(tmp)
        expected = baselines(base)
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            outcomes: list[Outcome] = list(pool.map(lambda c: run(c, base), selected))
        by_class: dict[str, list[tuple[Outcome, list[str]]]] = defaultdict(list)
        for outcome in outcomes:
            by_class[outcome.case.klass].append((outcome, problems(outcome, expected[outcome.case.good])))
    print("| class | cases | exit codes | worst time (s) | worst peak RSS (MB) | broken |")
    print("|---|---|---|---|---|---|")
    broken_total = 0
    for klass, results in by_class.items():
        codes = sorted({str(o.returncode) for o, _ in results})
        broken = [(o, p) for o, p in results if p]
        broken_total += len(broken)
        note = "; ".join(f"{o.case.name}: {p[0]}" for o, p in broken)
        print(
            f"| {klass} | {len(results)} | {', '.join(codes)} | {max(o.seconds for o, _ in results):.1f} | "
            f"{max(o.rss_mb for o, _ in results):.0f} | {len(broken)}{' (' + note + ')' if note else ''} |"
        )
    print(f"\n{len(outcomes)} cases, {broken_total} broken", file=sys.stderr)
    return 1 if broken_total else 0


if __name__ == "__main__":
    raise SystemExit(main())
