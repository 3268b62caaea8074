"""task outbox: review tasks carry their attempts, role and completion

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import worker.store.types

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

WHEN = worker.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('review_task') as batch:
        batch.add_column(sa.Column('role', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('last_error', sa.Text(), nullable=True))
        batch.add_column(sa.Column('completion', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch.add_column(sa.Column('outcome', sa.Text(), nullable=True))
        batch.add_column(sa.Column('completed_at', WHEN, nullable=True))
    op.create_index('ix_review_task_status', 'review_task', ['connection', 'status', 'created_at'])
    # a task left pending by an earlier version of the worker may have reached the CRM: look it up first
    op.execute("UPDATE review_task SET attempts = 1 WHERE status = 'pending'")


def downgrade() -> None:
    op.drop_index('ix_review_task_status', table_name='review_task')
    with op.batch_alter_table('review_task') as batch:
        for name in ('completed_at', 'outcome', 'completion', 'last_error', 'attempts', 'role'):
            batch.drop_column(name)
