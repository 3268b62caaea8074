"""scoring state: what the last scoring covered, so the next one rescores only what changed

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 21:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import worker.store.types

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

WHEN = worker.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('scoring_state',
    sa.Column('connection', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('inputs_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('scored_through', WHEN, nullable=True),
    sa.Column('full_at', WHEN, nullable=True),
    sa.PrimaryKeyConstraint('connection')
    )


def downgrade() -> None:
    op.drop_table('scoring_state')
