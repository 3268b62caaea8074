"""Run rows left ``running`` by a worker that was killed: found and closed, never left open forever.

A cycle (and the refinement that follows it) runs under the connection's run lock. So once a
worker holds that lock, every other ``running`` cycle or refinement row of the connection belongs
to a process that died without recording its end: it is closed as ``failed``, saying so.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, update
from sqlmodel import col

from worker.logs import get_logger
from worker.store import Run, session_scope

log = get_logger("worker.operate.runs")
LOCKED_KINDS = ("cycle", "refine")
INTERRUPTED = ("interrupted: the worker stopped before this run finished (killed, crashed or the machine went "
               "down); its saved state is kept; closed by {by}, which took over the run lock")


def close_stale_runs(engine: Engine, connection: str, now: datetime, by: str) -> int:
    """Close the connection's ``running`` cycle and refinement rows; call only while holding its run lock.

    Args:
        engine: The store.
        connection: The CRM connection's name.
        now: When they are closed.
        by: The run (or worker) closing them, named in their error.

    Returns:
        How many rows were closed.
    """
    statement = (update(Run).where(col(Run.connection) == connection, col(Run.status) == "running",
                                   col(Run.kind).in_(LOCKED_KINDS))
                 .values(status="failed", finished_at=now, error=INTERRUPTED.format(by=by)))
    with session_scope(engine) as session:
        closed = int(session.execute(statement).rowcount or 0)  # type: ignore[attr-defined]
    if closed:
        log.warning("runs.stale_closed", connection=connection, closed=closed)
    return closed
