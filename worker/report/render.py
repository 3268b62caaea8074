"""``icp report``: the status data rendered as one self-contained HTML page (or Markdown)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from worker.monitor.settings import PSI_ALARM, PSI_INVESTIGATE
from worker.refine.text import number, percent
from worker.report.charts import line_chart, stacked_bars

Format = Literal["html", "md"]
FORMATS: tuple[str, ...] = ("html", "md")


def _label(at: str | None) -> str:
    return (at or "")[:10]


def _tier_series(measurements: Sequence[Mapping[str, Any]], tiers: Sequence[str], key: str) -> dict[str, list[Any]]:
    return {t: [(m.get("by_tier") or {}).get(t, {}).get(key) for m in measurements] for t in tiers}


def charts(data: Mapping[str, Any]) -> dict[str, Markup]:
    """The report's charts: close rate by tier, tier distribution and PSI, each over time."""
    measurements, tiers = data.get("measurements") or [], data.get("tiers") or []
    labels = [_label(m.get("at")) for m in measurements]
    history = data.get("psi_history") or []
    return {
        "close_rate": line_chart(labels, _tier_series(measurements, tiers, "close_rate"),
                                 "Close rate by tier over time", top=1.0),
        "tiers": stacked_bars(labels, _tier_series(measurements, tiers, "accounts"),
                              "Accounts by tier over time (lead fit distribution)"),
        "psi": line_chart([_label(h.get("at")) for h in history], {"score PSI": [h.get("psi") for h in history]},
                          "Score distribution stability (PSI) over time", percent=False,
                          thresholds=[(PSI_INVESTIGATE, "investigate"), (PSI_ALARM, "significant")]),
    }


def _ci(value: Sequence[float] | None) -> str:
    return f"{value[0]:.0%}-{value[1]:.0%}" if value else "n/a"


def _days(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0f}"


def _p(value: float | None) -> str:
    return "-" if value is None else f"{value:.2g}"


def _md(value: Any) -> str:
    return str(value if value is not None else "").replace("|", "\\|").replace("\n", " ")


@lru_cache(maxsize=2)
def _environment(fmt: Format) -> Environment:
    """The templates of one format, compiled once per process."""
    env = Environment(loader=PackageLoader("worker.report", "templates"), autoescape=fmt == "html",
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters.update(pct=percent, num=number, ci=_ci, days=_days, p=_p, md=_md)
    return env


def render_report(data: Mapping[str, Any], fmt: Format = "html") -> str:
    """Render :func:`~worker.report.status_data` output.

    Args:
        data: The status data.
        fmt: ``html`` (one self-contained page with inline SVG charts, autoescaped) or ``md``.

    Raises:
        ValueError: An unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; use one of: {', '.join(FORMATS)}")
    latest = (data.get("measurements") or [None])[-1]
    context = {"d": data, "latest": latest, "drift": data.get("drift"), "version": data.get("version"),
               "tiers": data.get("tiers") or [], "charts": charts(data) if fmt == "html" else {}}
    return _environment(fmt).get_template(f"report.{fmt}.j2").render(**context)
