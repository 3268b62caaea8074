"""crm vocabulary: field and option labels, and the portal's currency and time zone

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import worker.store.types

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = worker.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('crm_field',
    sa.Column('connection', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('object_type', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
    sa.Column('label', sa.Text(), nullable=False),
    sa.Column('options', JSON, nullable=False),
    sa.Column('money', sa.Boolean(), nullable=False),
    sa.Column('read_at', WHEN, nullable=True),
    sa.PrimaryKeyConstraint('connection', 'object_type', 'name')
    )
    op.create_table('crm_portal',
    sa.Column('connection', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('currency', sqlmodel.sql.sqltypes.AutoString(length=8), nullable=True),
    sa.Column('time_zone', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('read_at', WHEN, nullable=True),
    sa.PrimaryKeyConstraint('connection')
    )


def downgrade() -> None:
    op.drop_table('crm_portal')
    op.drop_table('crm_field')
