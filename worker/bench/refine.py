"""Benchmarks of the refinement: speed on 100,000 closed deals, and the quality battery.

Run with ``python -m worker.bench.refine [n_deals]`` (prints the time of each stage), or
``icp bench refine --quality [--json]`` for the quality battery (see :mod:`worker.bench.refine_quality`).
"""

from __future__ import annotations

import json
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


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def quality_main(json_output: bool = False, noise_seeds: int = 20, world_seeds: int = 3) -> int:
    """Run the quality battery and print one row per world and seed, each judged world's mean over its seeds,
    then the targets; ``--json`` prints JSON only."""
    from worker.bench.refine_quality import as_json, battery, summary, world_means

    results = battery(noise_seeds, world_seeds=world_seeds)
    if json_output:
        print(json.dumps(as_json(results), indent=2))
        return 0
    header = ("world", "seed", "deals", "status", "design", "card AUC", "LR AUC", "GB AUC", "LR drivers AUC",
              "card>=LR-0.01",
              "drivers recovered", "noise proposed", "wins 70+", "losses <55", "s")
    rows = [(r.world, r.seed, r.deals, r.status, r.design, r.card_auc, r.lr_auc, r.gb_auc, r.lr_drivers_auc,
             {True: "yes", False: "NO", None: "-"}[r.accuracy_ok], f"{len(r.recovered)}/{len(r.drivers)} "
             f"{_cell(r.recovered)}", _cell(r.noise_proposed), r.wins_70_plus, r.losses_under_55, r.seconds)
            for r in results]
    table = [tuple(_cell(c) for c in header)] + [tuple(_cell(c) for c in row) for row in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    for world, m in world_means(results).items():
        print(f"mean over {m['seeds']} seeds, {world}: card {m['card_auc']:.3f}, LR {m['lr_auc']:.3f}, LR on the "
              f"drivers {_cell(m['lr_drivers_auc'])}: card>=LR-0.01 {'yes' if m['accuracy_ok'] else 'NO'}")
    for key, value in summary(results).items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
