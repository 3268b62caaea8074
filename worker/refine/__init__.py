"""Evidence-based ICP refinement: from won, lost, retained and churned accounts to a proposed scorecard.

``RefinementInput.from_records`` builds the columns, :func:`refine` runs the readiness gates,
the per-criterion statistics, the proposed scorecard and its validation, and
:func:`render_brief` writes the ICP refinement brief a leader reads before approving.
"""

from worker.refine.alignment import Alignment, AlignmentItem, alignment
from worker.refine.dataset import Column, HealthColumns, Population, RefinementInput
from worker.refine.engine import Analysis, CohortSummary, ReviewItem, Status, refine
from worker.refine.readiness import Check, Readiness, assess_readiness
from worker.refine.settings import BandEdge, RefineSettings
from worker.refine.validation import Validation

__all__ = [
    "Alignment",
    "AlignmentItem",
    "Analysis",
    "BandEdge",
    "Check",
    "CohortSummary",
    "Column",
    "HealthColumns",
    "Population",
    "Readiness",
    "RefineSettings",
    "RefinementInput",
    "ReviewItem",
    "Status",
    "Validation",
    "alignment",
    "assess_readiness",
    "refine",
]
