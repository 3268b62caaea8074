"""Shared fixtures of the refinement tests."""

from __future__ import annotations

import pytest

from tests.refine.planted import planted_analysis
from worker.refine import Analysis


@pytest.fixture(scope="session")
def analysis() -> Analysis:
    """The planted-truth analysis (2,000 closed deals, seed 0, compared with the in-force test card)."""
    return planted_analysis()


@pytest.fixture(scope="session")
def shuffled() -> Analysis:
    """The same data with outcomes and health permuted across accounts: no signal left."""
    return planted_analysis(shuffle=True)
