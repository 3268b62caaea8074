"""Scorecard documents and the pure scorer.

A scorecard version is a YAML document: criteria with bins and integer points,
exclusions (anti-personas), and score bands. :func:`load_scorecard` validates
it and reports every problem with its path; :class:`Scorer` scores columns of
account attributes with no I/O.
"""

from worker.score.scorecard.model import (
    Band,
    Bin,
    Criterion,
    Exclusion,
    Scorecard,
    ScorecardError,
    dump_scorecard,
    load_scorecard,
    parse_scorecard,
)
from worker.score.scorecard.scorer import Scorer, ScoreResult

__all__ = [
    "Band",
    "Bin",
    "Criterion",
    "Exclusion",
    "Scorecard",
    "ScorecardError",
    "ScoreResult",
    "Scorer",
    "dump_scorecard",
    "load_scorecard",
    "parse_scorecard",
]
