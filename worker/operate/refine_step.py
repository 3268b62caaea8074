"""The refinement ``icp run`` does after a good cycle, and what it tells the person or the script that ran it.

A run that proposes a version says so: which version, what the analysis concluded, and the
commands (or the review page) to read and decide on it. ``icp run --json`` carries the same as
its ``refine`` object.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from worker.context import Context
from worker.operate.scheduler import refine_if_due

OFF = "off"


@dataclass
class RefineReport:
    """What the run's refinement did.

    Attributes:
        status: ``ran``, ``failed``, ``not due``, ``unavailable`` or ``off`` (``--no-refine``).
        analysis: The analysis status (``proposed``, ``stopped``, ``no_lift``...) when it ran.
        headline: The analysis headline.
        version: The proposed version's label (``v2``), when the analysis proposed one.
        new_version: False when that version already existed (it scores exactly like this proposal).
        brief: The brief's label (a version label, or ``run-<id>`` when nothing was proposed).
        review: How to read and decide: ``brief``, ``approve`` and ``reject`` commands, and ``page``.
    """

    status: str
    analysis: str | None = None
    headline: str | None = None
    version: str | None = None
    new_version: bool = False
    brief: str | None = None
    review: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``refine`` object of ``icp run --json``)."""
        return asdict(self)


def refine_after_cycle(ctx: Context, command: str = "icp",
                       page: Callable[[int], str | None] = lambda version: None) -> RefineReport:
    """Refine if the review cadence is due; report what it proposed and how to review it.

    Args:
        ctx: The connection.
        command: How to call ``icp`` for this connection (``icp --config icp.toml``), for the
            review commands.
        page: The review page of a version number, when the review pages are served.
    """
    from worker.govern.proposals import RefinementOutcome, run_refinement

    outcomes: list[RefinementOutcome] = []
    status = refine_if_due(ctx, hook=lambda c: outcomes.append(run_refinement(c)))
    report = RefineReport(status)
    if not outcomes:
        return report
    outcome = outcomes[-1]
    report.analysis, report.headline = outcome.analysis.status, outcome.analysis.headline
    report.brief = outcome.brief_label
    if outcome.version is None:
        report.review = {"brief": f"{command} brief {outcome.brief_label}"}
        return report
    number = outcome.version.version
    report.version, report.new_version = outcome.version.label, outcome.new_version
    report.review = {"brief": f"{command} brief {number}",
                     "approve": f"{command} approve {number} --by <approver> --note <why>",
                     "reject": f"{command} reject {number} --by <approver> --note <why>"}
    url = page(number)
    if url:
        report.review["page"] = url
    return report


def describe(report: RefineReport) -> list[str]:
    """The report as lines for people."""
    if report.status == OFF:
        return []
    if report.status == "not due":
        return ["refinement: not due yet (review.cadence_days)"]
    if report.status != "ran":
        return [f"refinement: {report.status} (see the log)"]
    lines = [f"refinement: {report.headline}"]
    if report.version is None:
        lines.append(f"nothing proposed; read why: {report.review['brief']}")
        return lines
    if report.new_version:
        lines.append(f"proposed {report.version}: nothing changes until a named approver approves it")
    else:
        lines.append(f"{report.version} already scores exactly like this; nothing new stored")
    if "page" in report.review:
        lines.append(f"  review it: {report.review['page']}")
    lines += [f"  read the brief: {report.review['brief']}", f"  approve: {report.review['approve']}",
              f"  reject: {report.review['reject']}"]
    return lines
