"""A throw-away PostgreSQL schema: a fresh, empty store inside an existing database."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def scratch_schema(pg_url: str, prefix: str = "scratch") -> Iterator[str]:
    """Create an empty schema in ``pg_url``'s database and yield a URL whose search path is that schema.

    The schema and everything in it are dropped on exit. Needs the ``postgres`` extra (psycopg).
    """
    import psycopg

    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{pg_url}{'&' if '?' in pg_url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
