"""Small inline SVG charts (no script, no network, printable) for the HTML reports.

Charts are built as strings here rather than in a browser library because the report must
work offline under a strict CSP and print as it looks. Every label goes through
``markupsafe.escape``; numbers are formatted by Python, never taken from the input as text.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

#: Severity and status colours, shared with the stylesheet (colour-blind-safe where it matters:
#: severity also shows as a text label next to each bar).
COLOURS = {
    "critical": "#7f1d1d",
    "high": "#dc2626",
    "medium": "#f59e0b",
    "low": "#2563eb",
    "info": "#6b7280",
    "FAIL": "#dc2626",
    "UNKNOWN": "#a16207",
    "ERROR": "#7c3aed",
    "PASS": "#16a34a",
    "NOT_APPLICABLE": "#9ca3af",
    "SUPPRESSED": "#64748b",
}


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(title: str, items: Sequence[tuple[str, int]], width: int = 360) -> Markup:
    """Horizontal bars, one per (label, count), labelled with the count."""
    row, label_w, gap = 22, 110, 4
    height = row * len(items) + 8
    top = max([n for _, n in items] + [1])
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for i, (label, count) in enumerate(items):
        y = 4 + i * row
        bar = (width - label_w - 50) * count / top
        colour = COLOURS.get(label, "#475569")
        parts.append(
            f'<text x="0" y="{y + 15}" class="chart-label">{escape(label)}</text>'
            f'<rect x="{label_w}" y="{y + gap}" width="{_num(bar)}" height="{row - 2 * gap}" fill="{colour}"/>'
            f'<text x="{_num(label_w + bar + 6)}" y="{y + 15}" class="chart-value">{count}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def stacked_bar(title: str, items: Sequence[tuple[str, int]], width: int = 360) -> Markup:
    """One bar split by share, with a legend underneath (e.g. results by status)."""
    total = sum(n for _, n in items) or 1
    height = 74
    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    x = 0.0
    for label, count in items:
        w = width * count / total
        if w > 0:
            parts.append(
                f'<rect x="{_num(x)}" y="0" width="{_num(w)}" height="24" fill="{COLOURS.get(label, "#475569")}"/>'
            )
        x += w
    x, y = 0.0, 36
    for label, count in items:
        text = f"{label} {count}"
        step = 13 + 7.2 * len(text) + 14  # swatch, text at about 7.2 px a character, gap
        if x and x + step > width:
            x, y = 0.0, y + 16
        parts.append(
            f'<rect x="{_num(x)}" y="{y}" width="10" height="10" fill="{COLOURS.get(label, "#475569")}"/>'
            f'<text x="{_num(x + 13)}" y="{y + 9}" class="chart-legend">{escape(text)}</text>'
        )
        x += step
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(
    title: str, x_labels: Sequence[str], series: Sequence[tuple[str, Sequence[int]]], width: int = 720
) -> Markup:
    """Lines over time, one per series (e.g. open findings per severity per run)."""
    height, left, bottom, top_pad, legend_h = 260, 44, 40, 10, 18
    plot_w, plot_h = width - left - 10, height - bottom - top_pad - legend_h
    peak = max([v for _, values in series for v in values] + [1])
    steps = max(len(x_labels) - 1, 1)

    def px(i: int) -> float:
        return left + plot_w * i / steps

    def py(v: float) -> float:
        return top_pad + plot_h - plot_h * v / peak

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>'
    ]
    for frac in (0, 0.5, 1):
        y = py(peak * frac)
        parts.append(
            f'<line x1="{left}" y1="{_num(y)}" x2="{left + plot_w}" y2="{_num(y)}" class="chart-grid"/>'
            f'<text x="{left - 6}" y="{_num(y + 4)}" class="chart-axis" text-anchor="end">{_num(peak * frac)}</text>'
        )
    label_every = max(1, len(x_labels) // 8)
    for i, label in enumerate(x_labels):
        if i % label_every == 0 or i == len(x_labels) - 1:
            parts.append(
                f'<text x="{_num(px(i))}" y="{top_pad + plot_h + 16}" class="chart-axis" '
                f'text-anchor="middle">{escape(label)}</text>'
            )
    for name, values in series:
        colour = COLOURS.get(name, "#475569")
        points = " ".join(f"{_num(px(i))},{_num(py(v))}" for i, v in enumerate(values))
        if len(values) == 1:
            parts.append(f'<circle cx="{_num(px(0))}" cy="{_num(py(values[0]))}" r="3" fill="{colour}"/>')
        else:
            parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
    for i, (name, _) in enumerate(series):
        x = left + i * 110
        parts.append(
            f'<rect x="{x}" y="{height - 14}" width="10" height="10" fill="{COLOURS.get(name, "#475569")}"/>'
            f'<text x="{x + 14}" y="{height - 5}" class="chart-legend">{escape(name)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))
