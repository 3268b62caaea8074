"""Find a PostgreSQL server for the tests: a configured one, the local one, or an embedded one.

The PostgreSQL tests are never skipped: when no server is configured or reachable,
an embedded server (the ``pgserver`` wheel) is started in a temporary directory.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import psycopg

LOCAL_URL = "postgresql://postgres@127.0.0.1:5432/test"
_embedded: Any = None


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


def postgres_url() -> str:
    """A reachable PostgreSQL URL; raises when none can be found or started."""
    global _embedded
    configured = os.environ.get("ICP_TEST_POSTGRES_URL")
    if configured:
        if not _reachable(configured):
            raise RuntimeError(f"ICP_TEST_POSTGRES_URL is set but not reachable: {configured}")
        return configured
    if _reachable(LOCAL_URL):
        return LOCAL_URL
    if _embedded is None:
        import pgserver

        _embedded = pgserver.get_server(tempfile.mkdtemp(prefix="icp-pg-"), cleanup_mode="delete")
    return str(_embedded.get_uri())
