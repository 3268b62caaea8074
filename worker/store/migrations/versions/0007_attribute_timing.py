"""attribute timing: when each account's scoring attributes were set, and declared knowledge times

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 21:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

import worker.store.types

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

WHEN = worker.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('attribute_history',
    sa.Column('connection', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('attribute', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('set_at', WHEN, nullable=True),
    sa.Column('read_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('connection', 'account_id', 'attribute')
    )
    op.create_table('attribute_declaration',
    sa.Column('connection', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('attribute', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('known', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=256), nullable=False),
    sa.Column('declared_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('connection', 'attribute')
    )


def downgrade() -> None:
    op.drop_table('attribute_declaration')
    op.drop_table('attribute_history')
