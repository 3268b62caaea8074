"""Replicas starting together against one PostgreSQL store migrate it exactly once."""

from __future__ import annotations

import sys
import time

from alembic.script import ScriptDirectory
from sqlalchemy import text

from tests.operations.conftest import spawn
from worker.store import make_engine
from worker.store.db import MIGRATIONS, current_revision

MIGRATE = ("import sys, time; from worker.store import make_engine, migrate; engine = make_engine(sys.argv[1]); "
           "time.sleep(max(0.0, float(sys.argv[2]) - time.time())); migrate(engine); print('migrated')")


def test_replicas_starting_together_migrate_the_store_once(pg_store_url: str) -> None:
    """Four processes migrate a fresh schema at the same instant: all succeed, the schema is at head once."""
    start_at = time.time() + 2.0
    replicas = [spawn([sys.executable, "-c", MIGRATE, pg_store_url, str(start_at)]) for _ in range(4)]
    results = [(replica.communicate(timeout=60), replica.returncode) for replica in replicas]
    assert [(out.strip(), code) for (out, _err), code in results] == [("migrated", 0)] * 4, results
    engine = make_engine(pg_store_url)
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert current_revision(engine) == head
    with engine.connect() as db:
        assert db.execute(text("SELECT count(*) FROM alembic_version")).scalar_one() == 1
        assert db.execute(text("SELECT count(*) FROM run_lock")).scalar_one() == 0
    engine.dispose()
