"""Inline ``# kvaudit:ignore RULE reason`` comments attached to the rows a block declares.

A comment counts when it sits inside the resource block or in the run of comment lines
directly above it. It suppresses the rule for the block's own row (the vault, the key ...),
as the ARM and Bicep loaders do; rows a block declares in passing (inline access policies)
are not targeted, so a suppression never "matches no finding" just by being spread wide.
"""

from __future__ import annotations

from kvaudit.scanner.iac.common import parse_suppression_comment
from kvaudit.scanner.iac.terraform.module import Instance
from kvaudit.scanner.inventory import InlineSuppression


def block_comments(comments: list[tuple[int, str]], start: int, end: int) -> list[tuple[int, str]]:
    """Comments inside lines ``start..end`` plus the contiguous comment lines just above."""
    by_line = dict(comments)
    chosen = [(line, text) for line, text in comments if start <= line <= end]
    above = start - 1
    while above in by_line:
        chosen.insert(0, (above, by_line[above]))
        above -= 1
    return chosen


def suppressions_for(
    instances: list[Instance], declared: dict[str, list[str]], comments: dict[str, list[tuple[int, str]]]
) -> list[InlineSuppression]:
    found: list[InlineSuppression] = []
    for inst in instances:
        ids = declared.get(inst.address)
        if not ids or inst.file is None or inst.line is None:
            continue
        for line, text in block_comments(comments.get(inst.file, []), inst.line, inst.end_line or inst.line):
            parsed = parse_suppression_comment(text)
            if parsed is None:
                continue
            rule_id, reason = parsed
            found.append(
                InlineSuppression(rule_id=rule_id, resource_id=ids[0], reason=reason, file=inst.file, line=line)
            )
    return found
