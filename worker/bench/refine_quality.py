"""The refinement quality battery: generated worlds with a known truth, and the sandbox's own world.

``icp bench refine --quality [--json]`` prints, per world and seed: the held-out AUC of the points
card, of a plain logistic regression and of gradient boosting on the same splits (mean over the
validation's repeats for the card and the regression), the regression on the planted drivers alone
(what a card without any noise criterion can reach), the planted drivers recovered and the noise
criteria proposed. Targets (issue 9): card >= regression - 0.01 on every world with 300 deals or
more; the planted drivers recovered; no criterion on noise-only worlds in at least 95% of seeds.

Each planted world runs over several seeds (``--world-seeds``) and the accuracy target is judged on
the world's mean over them: on one sample of 1,000 deals the regression on every attribute also
draws on chance associations of the noise attributes with the outcome (they replicate across folds
of the same sample), worth up to 0.015 AUC on a single seed and nothing on average; a card that
refuses noise cannot, and should not, follow it there. The per-seed figures are listed too.

The dated generated worlds are validated by repeated k-fold (every deal scored three times) rather
than by their one out-of-time slice, whose few hundred deals make a 0.01 comparison a coin toss;
the tied- and missing-date worlds choose k-fold themselves, and the sandbox world keeps the design
``icp refine`` would use.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from worker.ingest.records import AccountRecord, DealRecord
from worker.refine import Analysis, RefinementInput, RefineSettings, refine
from worker.refine.baseline import baseline_scores
from worker.refine.cohorts import assign_cohorts, build_target
from worker.refine.columns import analysable
from worker.refine.design import group_keys, kfold_splits
from worker.refine.metrics import score_metrics
from worker.refine.worlds import GENERATORS, World, small_world
from worker.score.scorecard import Scorecard, load_scorecard

LR_TOLERANCE = 0.01
MIN_DEALS_FOR_ACCURACY = 300
SIZES = {"drivers": 2000, "strong_categorical": 1000, "interaction": 2000, "missing_values": 2000,
         "tied_dates": 1000, "missing_dates": 1000}
NOISE_DEALS = 1000
FORCE_KFOLD = 10**6
ACCURACY_BY_KFOLD = frozenset({"drivers", "strong_categorical", "interaction", "missing_values"})
SANDBOX_NOW = datetime(2025, 6, 30, tzinfo=UTC)
STARTER = Path(__file__).resolve().parents[2] / "config" / "starter-scorecard.yaml"


@dataclass(frozen=True)
class WorldResult:
    """One world's figures."""

    world: str
    seed: int
    deals: int
    status: str
    design: str
    card_auc: float | None
    lr_auc: float | None
    gb_auc: float | None
    lr_drivers_auc: float | None
    drivers: list[str]
    recovered: list[str]
    noise_proposed: list[str]
    selected: list[str]
    wins_70_plus: float | None
    losses_under_55: float | None
    seconds: float

    @property
    def accuracy_ok(self) -> bool | None:
        """Card within the tolerance of the regression (None when the world is too small to judge, or holds no
        signal: there the regression's edge over 0.5 is chance, and the target is proposing nothing)."""
        if self.deals < MIN_DEALS_FOR_ACCURACY or self.card_auc is None or self.lr_auc is None or not self.drivers:
            return None
        return self.card_auc >= self.lr_auc - LR_TOLERANCE


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def measure(world: str, seed: int, data: RefinementInput, drivers: tuple[str, ...], noise: tuple[str, ...],
            current: Scorecard | None = None, kfold: bool = False) -> WorldResult:
    """Refine ``data`` and collect the battery's figures (``kfold``: repeated k-fold even when dated)."""
    start = time.perf_counter()
    days = FORCE_KFOLD if kfold else RefineSettings().min_close_days
    settings = RefineSettings(random_seed=seed, min_close_days=days)
    analysis = refine(data, settings, current)
    seconds = time.perf_counter() - start
    truth = drivers_only_auc(data, settings, drivers) if analysis.validation and \
        analysis.validation.method == "repeated_kfold" else None
    return _result(world, seed, len(data), analysis, drivers, noise, seconds, truth)


def drivers_only_auc(data: RefinementInput, settings: RefineSettings, drivers: tuple[str, ...]) -> float | None:
    """The plain logistic regression on the planted drivers alone, on the validation's k-fold splits (mean
    AUC over the repeats): what a card that takes no noise attribute can reach on this sample."""
    columns = [c for c in analysable(data.account_columns, settings, "account")[0] if c.name in drivers]
    if not columns:
        return None
    target, _ = build_target(data.won, assign_cohorts(data.won, data.health, settings), settings)
    groups = group_keys(data.account_ids)
    aucs = []
    for r in range(settings.kfold_repeats):
        scores = np.full(len(data), 0.5)
        for split in kfold_splits(groups, target, settings.kfold_splits, settings.random_seed + r):
            found = baseline_scores(columns, target, split.train, split.test, settings.min_bin_count)
            if found is not None:
                scores[split.test] = found
        auc = score_metrics("", "", scores, target).auc
        if auc is not None:
            aucs.append(auc)
    return float(np.mean(aucs)) if aucs else None


def _result(world: str, seed: int, deals: int, analysis: Analysis, drivers: tuple[str, ...],
            noise: tuple[str, ...], seconds: float, truth: float | None = None) -> WorldResult:
    v = analysis.validation
    chosen = [c.attribute for c in analysis.criteria if c.status == "selected"] if analysis.proposed else []
    won = (v.proposed_won or v.proposed) if v else None
    return WorldResult(
        world, seed, deals, analysis.status, v.method if v else "-",
        _round(v.mean_auc) if v else None, _round(v.mean_baseline_auc) if v else None,
        _round(v.boosting.auc) if v and v.boosting else None, _round(truth), list(drivers),
        [d for d in drivers if d in chosen], [c for c in chosen if c in noise], chosen,
        _round(won.share_positives_high) if won else None, _round(won.share_negatives_low) if won else None,
        round(seconds, 1),
    )


def _measure_world(world: World, seed: int, kfold: bool = False) -> WorldResult:
    return measure(world.name, seed, world.input(), world.drivers, world.non_drivers, kfold=kfold)


def sandbox_result(seed: int = 7, accounts: int = 2000) -> WorldResult:
    """The sandbox CRM's planted world (its own generator), with the starter scorecard in force."""
    from sandbox import world as sandbox_world

    generated = sandbox_world.generate_world(seed, accounts, SANDBOX_NOW)
    attributes = ("industry", "employees", "annual_revenue", "country", "founded_year", "funding_stage",
                  "uses_data_warehouse", "crm_system", "web_visits_30d")
    health = {"retention_status": "retention_status", "churn_date": "churn_date", "nps": "nps",
              "support_tickets_90d": "support_tickets", "time_to_value_days": "time_to_value_days",
              "delivery_fit": "delivery_fit", "gross_margin_pct": "gross_margin_pct"}
    records = [AccountRecord(id=str(a.id), attributes={k: getattr(a, k) for k in attributes},
                             health={v: getattr(a, k) for k, v in health.items() if getattr(a, k) is not None})
               for a in generated.accounts.rows()]
    deals = [DealRecord(id=str(d.id), account_id=str(d.account_id),
                        outcome=("won" if d.is_won else "lost") if d.is_closed else "open", amount=d.amount,
                        created_at=d.created_at, closed_at=d.closed_at, loss_reason=d.loss_reason,
                        competitor=d.competitor, lead_source=d.lead_source) for d in generated.deals.rows()]
    data = RefinementInput.from_records(records, deals, [], SANDBOX_NOW)
    truth = sandbox_world.PLANTED_TRUTH
    return measure("sandbox", seed, data, tuple(truth["drivers"]), tuple(truth["noise"]), load_scorecard(STARTER))


def battery(noise_seeds: int = 20, seed: int = 1, world_seeds: int = 3) -> list[WorldResult]:
    """Every world of the battery: planted worlds over ``world_seeds`` seeds, noise-only over ``noise_seeds``."""
    seeds = range(seed, seed + world_seeds)
    results = [_measure_world(GENERATORS[name](n, s), s, name in ACCURACY_BY_KFOLD)
               for name, n in SIZES.items() for s in seeds]
    results += [_measure_world(small_world(50, 50, seed), seed), _measure_world(small_world(10, 10, seed), seed)]
    results += [_measure_world(GENERATORS["noise_only"](NOISE_DEALS, s), s) for s in range(seed, seed + noise_seeds)]
    results.append(sandbox_result())
    return results


def world_means(results: list[WorldResult]) -> dict[str, dict[str, Any]]:
    """Per judged world: mean card, regression and drivers-only AUC over its seeds, and the target checked."""
    judged: dict[str, list[WorldResult]] = {}
    for r in results:
        if r.accuracy_ok is not None:
            judged.setdefault(r.world, []).append(r)
    means: dict[str, dict[str, Any]] = {}
    for world, runs in judged.items():
        card = float(np.mean([r.card_auc for r in runs if r.card_auc is not None]))
        lr = float(np.mean([r.lr_auc for r in runs if r.lr_auc is not None]))
        truth = [r.lr_drivers_auc for r in runs if r.lr_drivers_auc is not None]
        means[world] = {"seeds": len(runs), "card_auc": round(card, 3), "lr_auc": round(lr, 3),
                        "lr_drivers_auc": round(float(np.mean(truth)), 3) if truth else None,
                        "accuracy_ok": card >= lr - LR_TOLERANCE}
    return means


def summary(results: list[WorldResult]) -> dict[str, Any]:
    """The targets, checked (accuracy on each world's mean over its seeds, and per seed)."""
    judged = [r for r in results if r.accuracy_ok is not None]
    means = world_means(results)
    noise = [r for r in results if r.world == "noise_only"]
    planted = [r for r in results if r.drivers and r.world != "noise_only"]
    return {
        "card_within_lr_tolerance": f"{sum(m['accuracy_ok'] for m in means.values())}/{len(means)} worlds with "
                                    f">= {MIN_DEALS_FOR_ACCURACY} deals (mean over their seeds)",
        "card_within_lr_tolerance_per_seed": f"{sum(bool(r.accuracy_ok) for r in judged)}/{len(judged)} runs",
        "drivers_recovered": f"{sum(len(r.recovered) for r in planted)}/{sum(len(r.drivers) for r in planted)}",
        "noise_only_clean": f"{sum(not r.selected for r in noise)}/{len(noise)} seeds with no criterion",
        "noise_criteria_total": sum(len(r.noise_proposed) for r in results),
    }


def as_json(results: list[WorldResult]) -> dict[str, Any]:
    """The battery as a JSON document."""
    return {"worlds": [{**asdict(r), "accuracy_ok": r.accuracy_ok} for r in results],
            "world_means": world_means(results), "summary": summary(results)}
