"""Recall per format on the corpus: expected findings raised, missed, and findings raised that a
correct scanner would not give.

    python -m tests.corpus.recall
"""

from __future__ import annotations

from collections import defaultdict

from tests.corpus.cases import FORMATS, load_cases
from tests.corpus.findings import scan_case


def main() -> None:
    expected: dict[str, int] = defaultdict(int)
    raised: dict[str, int] = defaultdict(int)
    extra: dict[str, int] = defaultdict(int)
    cases: dict[str, int] = defaultdict(int)
    for case in load_cases():
        found, _ = scan_case(case.path)
        cases[case.fmt] += 1
        expected[case.fmt] += len(case.findings)
        raised[case.fmt] += len(case.findings & found)
        extra[case.fmt] += len(found - case.findings)
        for missing in sorted(case.findings - found):
            print(f"  missed  {case.id}: {' '.join(missing)}")
        for wrong in sorted(found - case.findings):
            print(f"  extra   {case.id}: {' '.join(wrong)}")
    print(f"{'format':<10} {'cases':>5} {'expected':>8} {'raised':>6} {'recall':>7} {'extra':>5}")
    for fmt in (*FORMATS, "all"):
        if fmt == "all":
            e, r, x, c = (sum(d.values()) for d in (expected, raised, extra, cases))
        else:
            e, r, x, c = expected[fmt], raised[fmt], extra[fmt], cases[fmt]
        recall = f"{100 * r / e:.0f}%" if e else "-"
        print(f"{fmt:<10} {c:>5} {e:>8} {r:>6} {recall:>7} {x:>5}")


if __name__ == "__main__":
    main()
