"""Alembic environment: migrations run on the connection the worker hands over."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import worker.store.models  # noqa: F401  (registers the tables on the metadata)

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through worker.store.migrate() or `icp init`")
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
