"""Small inline-SVG charts for the brief: no scripts, no fonts, no network."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape as _escape

from markupsafe import Markup

from worker.refine.text import strip_controls

WIDTH = 640


def escape(text: str) -> str:
    """Text for SVG: escaped, without control characters."""
    return _escape(strip_controls(str(text)))
BAR_COLOUR = "#2f6f9f"
SECOND_COLOUR = "#d08c2c"
MUTED_COLOUR = "#9aa5b1"
TEXT_STYLE = 'font-family="sans-serif" font-size="11" fill="#1f2933"'


@dataclass(frozen=True)
class RateBar:
    """A bar with an interval: a rate, its 95% interval and the sample behind it."""

    label: str
    rate: float | None
    low: float | None
    high: float | None
    n: int


def _text(x: float, y: float, content: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {TEXT_STYLE} {extra}>{escape(content)}</text>'


def _frame(height: int, title: str, body: list[str]) -> Markup:
    parts = [
        f'<svg role="img" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" style="max-width:{WIDTH}px" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        *body,
        "</svg>",
    ]
    return Markup("".join(parts))


def rate_bars(bars: Sequence[RateBar], title: str, axis_label: str) -> Markup:
    """Vertical bars of rates with 95% interval whiskers and ``n`` under each bar."""
    height, top, bottom, left = 240, 24, 200, 48
    plot_height = bottom - top
    step = (WIDTH - left - 16) / max(len(bars), 1)
    body = [_text(left, 14, title, extra='font-weight="bold"')]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = bottom - tick * plot_height
        body.append(f'<line x1="{left}" x2="{WIDTH - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        body.append(_text(left - 6, y + 4, f"{tick:.0%}", "end"))
    for i, bar in enumerate(bars):
        x = left + i * step + step * 0.2
        width = step * 0.6
        centre = x + width / 2
        if bar.rate is not None:
            y = bottom - bar.rate * plot_height
            body.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{bottom - y:.1f}" '
                f'fill="{BAR_COLOUR}"><title>{escape(bar.label)}: {bar.rate:.1%} (n={bar.n})</title></rect>'
            )
            body.append(_text(centre, y - 4, f"{bar.rate:.0%}", "middle"))
        if bar.low is not None and bar.high is not None:
            y1, y2 = bottom - bar.low * plot_height, bottom - bar.high * plot_height
            body.append(f'<line x1="{centre:.1f}" x2="{centre:.1f}" y1="{y1:.1f}" y2="{y2:.1f}" stroke="#1f2933"/>')
            for yy in (y1, y2):
                body.append(
                    f'<line x1="{centre - 5:.1f}" x2="{centre + 5:.1f}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#1f2933"/>'
                )
        body.append(_text(centre, bottom + 14, bar.label, "middle"))
        body.append(_text(centre, bottom + 27, f"n={bar.n}", "middle", 'fill-opacity="0.7"'))
    body.append(
        _text(8, top + plot_height / 2, axis_label, "middle", f'transform="rotate(-90 8 {top + plot_height / 2:.1f})"')
    )
    return _frame(height, title, body)


def paired_histogram(bins: Sequence[tuple[int, int, int]], title: str, first: str, second: str) -> Markup:
    """Two distributions over 10-point score bins, each as a share of its own total."""
    height, top, bottom, left = 230, 36, 190, 40
    total_a = sum(a for _, a, _ in bins) or 1
    total_b = sum(b for _, _, b in bins) or 1
    shares = [(start, a / total_a, b / total_b) for start, a, b in bins]
    peak = max([max(a, b) for _, a, b in shares] + [0.01])
    step = (WIDTH - left - 16) / max(len(bins), 1)
    body = [
        _text(left, 14, title, extra='font-weight="bold"'),
        f'<rect x="{left}" y="20" width="10" height="10" fill="{BAR_COLOUR}"/>',
        _text(left + 14, 29, f"{first} (n={total_a if any(a for _, a, _ in bins) else 0})"),
        f'<rect x="{left + 220}" y="20" width="10" height="10" fill="{SECOND_COLOUR}"/>',
        _text(left + 234, 29, f"{second} (n={total_b if any(b for _, _, b in bins) else 0})"),
    ]
    for i, (start, a, b) in enumerate(shares):
        x = left + i * step
        for offset, share, colour in ((0.1, a, BAR_COLOUR), (0.5, b, SECOND_COLOUR)):
            bar_height = share / peak * (bottom - top)
            body.append(
                f'<rect x="{x + step * offset:.1f}" y="{bottom - bar_height:.1f}" width="{step * 0.38:.1f}" '
                f'height="{bar_height:.1f}" fill="{colour}"><title>{share:.1%}</title></rect>'
            )
        body.append(_text(x + step / 2, bottom + 14, f"{start}-{start + 9 if start < 90 else 100}", "middle"))
    body.append(f'<line x1="{left}" x2="{WIDTH - 8}" y1="{bottom}" y2="{bottom}" stroke="#52606d"/>')
    return _frame(height, title, body)


def horizontal_bars(
    rows: Sequence[tuple[str, float, bool]], title: str, value_label: str, reference: float | None = None
) -> Markup:
    """Horizontal bars (label, value, highlighted); an optional reference line (e.g. lift 1.0)."""
    row_height, left, right, top = 20, 230, WIDTH - 60, 28
    height = top + row_height * len(rows) + 24
    peak = max([v for _, v, _ in rows] + [reference or 0, 1e-9])
    body = [_text(8, 14, title, extra='font-weight="bold"')]
    for i, (label, value, highlighted) in enumerate(rows):
        y = top + i * row_height
        width = max(value, 0) / peak * (right - left)
        colour = BAR_COLOUR if highlighted else MUTED_COLOUR
        body.append(_text(left - 6, y + 13, label[:40], "end"))
        body.append(
            f'<rect x="{left}" y="{y + 3}" width="{width:.1f}" height="{row_height - 6}" fill="{colour}">'
            f"<title>{escape(label)}: {value:.3g}</title></rect>"
        )
        body.append(_text(left + width + 4, y + 13, f"{value:.2f}"))
    if reference is not None:
        x = left + reference / peak * (right - left)
        body.append(
            f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{height - 20}" stroke="#c0392b" stroke-dasharray="4 3"/>'
        )
        body.append(_text(x, height - 6, f"{value_label} {reference:g}", "middle"))
    else:
        body.append(_text(left, height - 6, value_label))
    return _frame(height, title, body)
