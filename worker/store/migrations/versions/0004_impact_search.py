"""impact search text: one lower-case column the review page searches

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('version_impact') as batch:
        batch.add_column(sa.Column('search', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('version_impact') as batch:
        batch.drop_column('search')
