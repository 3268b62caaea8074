"""rep fields: why an override is ignored, and the values last written on open deals

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 21:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import worker.store.types

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = worker.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('account') as batch:
        batch.add_column(sa.Column('override_issue', sa.Text(), nullable=True))
    op.create_table('written_deal',
    sa.Column('connection', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('deal_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('values', JSON, nullable=False),
    sa.Column('written_at', WHEN, nullable=True),
    sa.Column('run_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.PrimaryKeyConstraint('connection', 'deal_id')
    )


def downgrade() -> None:
    op.drop_table('written_deal')
    with op.batch_alter_table('account') as batch:
        batch.drop_column('override_issue')
