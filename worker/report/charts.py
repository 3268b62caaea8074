"""Inline-SVG charts over time for the status report: no scripts, no fonts, no network."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 110, 28, 218
PALETTE = ("#2f6f9f", "#3f9142", "#d08c2c", "#c0392b", "#7b5ea7", "#52606d", "#1b998b", "#9aa5b1")
TEXT = 'font-family="sans-serif" font-size="11" fill="#1f2933"'

Series = Mapping[str, Sequence[float | None]]


def colour(i: int) -> str:
    """The colour of the ``i``-th series."""
    return PALETTE[i % len(PALETTE)]


def _text(x: float, y: float, content: str, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {TEXT} {extra}>{escape(content)}</text>'


def _frame(title: str, body: list[str]) -> Markup:
    head = (f'<svg role="img" class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
            f'style="max-width:{WIDTH}px" aria-label="{escape(title)}"><title>{escape(title)}</title>')
    return Markup(head + _text(LEFT, 16, title, extra='font-weight="bold"') + "".join(body) + "</svg>")


def _x(i: int, n: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span / 2 if n <= 1 else i * span / (n - 1))


def _y(value: float, top: float) -> float:
    return BOTTOM - (value / top if top else 0) * (BOTTOM - TOP)


def _axes(labels: Sequence[str], top: float, percent: bool) -> list[str]:
    body = []
    for k in range(5):
        value = top * k / 4
        y = _y(value, top)
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        body.append(_text(LEFT - 6, y + 4, f"{value:.0%}" if percent else f"{value:.2f}", "end"))
    n = len(labels)
    step = max(1, n // 6)
    for i in range(0, n, step):
        body.append(_text(_x(i, n), BOTTOM + 14, labels[i], "middle"))
    return body


def _legend(names: Sequence[str]) -> list[str]:
    body = []
    for i, name in enumerate(names):
        y = TOP + 4 + i * 16
        body.append(f'<rect x="{WIDTH - RIGHT + 12}" y="{y}" width="10" height="10" fill="{colour(i)}"/>')
        body.append(_text(WIDTH - RIGHT + 26, y + 9, name))
    return body


def empty_chart(title: str, message: str = "no data yet") -> Markup:
    """A placeholder with the chart's title when there is nothing to plot."""
    return _frame(title, [_text(WIDTH / 2, HEIGHT / 2, message, "middle", 'fill-opacity="0.6"')])


def line_chart(labels: Sequence[str], series: Series, title: str, *, percent: bool = True,
               top: float | None = None, thresholds: Sequence[tuple[float, str]] = ()) -> Markup:
    """One line per series over the points of ``labels`` (None leaves a gap), with dashed threshold lines."""
    values = [v for s in series.values() for v in s if v is not None]
    if not labels or not values:
        return empty_chart(title)
    top = top or max(values + [t for t, _ in thresholds] + [1e-9]) * 1.1
    body = _axes(labels, top, percent)
    for value, name in thresholds:
        y = _y(value, top)
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#c0392b" '
                    'stroke-dasharray="4 3"/>')
        body.append(_text(WIDTH - RIGHT - 4, y - 4, name, "end", 'fill="#c0392b"'))
    n = len(labels)
    for i, (name, points) in enumerate(series.items()):
        segment: list[str] = []
        for j, v in enumerate(points):
            if v is None:
                body += _polyline(segment, colour(i))
                segment = []
                continue
            x, y = _x(j, n), _y(v, top)
            segment.append(f"{x:.1f},{y:.1f}")
            shown = f"{v:.0%}" if percent else f"{v:.3f}"
            body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour(i)}">'
                        f"<title>{escape(name)} {escape(labels[j])}: {shown}</title></circle>")
        body += _polyline(segment, colour(i))
    return _frame(title, body + _legend(list(series)))


def _polyline(points: list[str], stroke: str) -> list[str]:
    if len(points) < 2:
        return []
    return [f'<polyline points="{" ".join(points)}" fill="none" stroke="{stroke}" stroke-width="2"/>']


def stacked_bars(labels: Sequence[str], series: Series, title: str) -> Markup:
    """Bars of shares stacking to 100% per point (e.g. accounts per tier over time)."""
    totals = [sum(s[j] or 0 for s in series.values()) for j in range(len(labels))]
    if not labels or not any(totals):
        return empty_chart(title)
    body = _axes(labels, 1.0, True)
    n = len(labels)
    width = max(2.0, min(28.0, (WIDTH - LEFT - RIGHT) / max(n, 1) * 0.7))
    for j, total in enumerate(totals):
        base = 0.0
        for i, (name, points) in enumerate(series.items()):
            share = (points[j] or 0) / total if total else 0
            if share <= 0:
                continue
            y_top, y_bottom = _y(base + share, 1.0), _y(base, 1.0)
            body.append(f'<rect x="{_x(j, n) - width / 2:.1f}" y="{y_top:.1f}" width="{width:.1f}" '
                        f'height="{y_bottom - y_top:.1f}" fill="{colour(i)}"><title>{escape(name)} '
                        f"{escape(labels[j])}: {share:.0%}</title></rect>")
            base += share
    return _frame(title, body + _legend(list(series)))
