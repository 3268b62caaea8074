"""Planted-truth CRM data for the refinement tests.

The generator itself lives in :mod:`worker.refine.synthetic` (the benchmark needs it too); this
module names the planted truth and caches the analyses the tests share.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from worker.refine import Analysis, RefinementInput, RefineSettings, refine
from worker.refine.synthetic import PlantedTruth, SyntheticCRM, generate
from worker.score.scorecard import Scorecard, load_scorecard
from worker.score.scorecard.model import parse_scorecard

TRUTH = PlantedTruth()
STARTER = Path(__file__).resolve().parents[2] / "config" / "starter-scorecard.yaml"
N_DEALS = 2000


def starter_card() -> Scorecard:
    """The hand-written starter scorecard of the repository."""
    return load_scorecard(STARTER)


@lru_cache(maxsize=1)
def in_force_card() -> Scorecard:
    """The version in force in the shared analysis: the starter card without its industry and data-warehouse
    criteria, so a refinement that finds the planted drivers truly beats it (the full starter card already
    encodes most of the planted truth, and a proposal is then rightly ``no_improvement``)."""
    document = yaml.safe_load(STARTER.read_text(encoding="utf-8"))
    dropped = ("industry", "uses_data_warehouse")
    document["criteria"] = [c for c in document["criteria"] if c["attribute"] not in dropped]
    return parse_scorecard(document, source="in-force test card")


@lru_cache(maxsize=16)
def planted_crm(n_deals: int = N_DEALS, seed: int = 0, shuffle: bool = False) -> SyntheticCRM:
    """Generated records with the planted truth (cached: tests must not mutate them)."""
    return generate(n_deals, seed=seed, shuffle_outcomes=shuffle)


@lru_cache(maxsize=16)
def planted_input(n_deals: int = N_DEALS, seed: int = 0, shuffle: bool = False) -> RefinementInput:
    """The refinement input of :func:`planted_crm`."""
    crm = planted_crm(n_deals, seed, shuffle)
    return RefinementInput.from_records(crm.accounts, crm.deals, crm.notes, crm.now)


@lru_cache(maxsize=16)
def planted_analysis(
    n_deals: int = N_DEALS,
    seed: int = 0,
    shuffle: bool = False,
    target: str = "good_customer",
    with_starter: bool = True,
) -> Analysis:
    """The analysis of :func:`planted_input`, compared with :func:`in_force_card` unless told otherwise."""
    settings = RefineSettings(target=target, random_seed=seed)
    return refine(planted_input(n_deals, seed, shuffle), settings, current=in_force_card() if with_starter else None)


def selected(analysis: Analysis) -> set[str]:
    """Attributes of the criteria the analysis proposes."""
    return {c.attribute for c in analysis.selected}
