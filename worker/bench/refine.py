"""Benchmark: refinement on 100,000 closed deals of synthetic planted-truth data.

Run with ``python -m worker.bench.refine [n_deals]``; prints the time of each stage.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

from worker.refine.brief import render_brief
from worker.refine.dataset import RefinementInput
from worker.refine.engine import refine
from worker.refine.settings import RefineSettings
from worker.refine.synthetic import generate

T = TypeVar("T")
DEFAULT_DEALS = 100_000


def _timed(label: str, action: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = action()
    print(f"{label:<34} {time.perf_counter() - start:8.2f} s")
    return result


def main(argv: list[str] | None = None) -> int:
    """Generate the data, build the input, run ``refine`` and render the brief, timing each step."""
    args = sys.argv[1:] if argv is None else argv
    n_deals = int(args[0]) if args else DEFAULT_DEALS
    crm = _timed(f"generate {n_deals:,} closed deals", lambda: generate(n_deals, seed=1))
    data = _timed(
        "RefinementInput.from_records",
        lambda: RefinementInput.from_records(crm.accounts, crm.deals, crm.notes, crm.now),
    )
    settings = RefineSettings()
    analysis = _timed("refine()", lambda: refine(data, settings))
    _timed("render_brief(html)", lambda: render_brief(analysis, "benchmark", "html"))
    selected = ", ".join(c.attribute for c in analysis.selected) or "none"
    validation = analysis.validation
    auc = validation.proposed.auc if validation is not None else None
    print(f"deals analysed: {analysis.n_deals:,}; accounts scored for impact: {len(data.population):,}")
    print(f"status: {analysis.status}; criteria: {selected}; held-out AUC: {auc if auc is None else round(auc, 3)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
