"""CRM connectors. They know CRMs (HTTP, paging, limits, field names) and nothing of scoring.

Every connector implements :class:`connectors.base.Connector` and raises only the
errors of :mod:`connectors.errors`, translated at its boundary.
"""

from connectors.base import Connector, FieldSpec, OwnedFieldStatus, PullRequest, RawRecord, TaskRequest, WriteOutcome
from connectors.errors import ConnectorError, FatalError, QuotaExhaustedError, RetriableError, SkippableError

__all__ = [
    "Connector",
    "ConnectorError",
    "FatalError",
    "FieldSpec",
    "OwnedFieldStatus",
    "PullRequest",
    "QuotaExhaustedError",
    "RawRecord",
    "RetriableError",
    "SkippableError",
    "TaskRequest",
    "WriteOutcome",
]
