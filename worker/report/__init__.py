"""The ICP's status over time: ``icp status`` data and the ``icp report`` page with inline charts."""

from worker.report.render import FORMATS, render_report
from worker.report.status import STATUS_KEYS, ReportSettings, status_data

__all__ = ["FORMATS", "STATUS_KEYS", "ReportSettings", "render_report", "status_data"]
