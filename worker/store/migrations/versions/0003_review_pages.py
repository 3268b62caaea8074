"""review pages: event channel and roles, superseded proposals, impact rows, web users and sessions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op
from sqlalchemy.dialects import postgresql

import worker.store.types

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
WHEN = worker.store.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('version_event') as batch:
        batch.add_column(sa.Column('action', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch.add_column(sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True))
        batch.add_column(sa.Column('os_user', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch.add_column(sa.Column('roles', JSON, nullable=False, server_default='[]'))
    op.execute("UPDATE version_event SET action = CASE "
               "WHEN from_status = 'retired' AND to_status = 'approved' THEN 'rolled_back' "
               "WHEN to_status = 'draft' THEN 'drafted' ELSE to_status END")
    op.create_table('version_impact',
    sa.Column('connection', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('account_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('owner_id', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
    sa.Column('old_tier', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('new_tier', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('old_score', sa.Integer(), nullable=True),
    sa.Column('new_score', sa.Integer(), nullable=False),
    sa.Column('open_pipeline', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('connection', 'version', 'account_id')
    )
    op.create_index('ix_version_impact_pipeline', 'version_impact', ['connection', 'version', 'open_pipeline'],
                    unique=False)
    op.create_table('web_user',
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('password_hash', sa.Text(), nullable=False),
    sa.Column('created_at', WHEN, nullable=True),
    sa.Column('password_changed_at', WHEN, nullable=True),
    sa.PrimaryKeyConstraint('email')
    )
    op.create_table('web_session',
    sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=True),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
    sa.Column('data', JSON, nullable=False),
    sa.Column('created_at', WHEN, nullable=False),
    sa.Column('last_seen_at', WHEN, nullable=False),
    sa.Column('expires_at', WHEN, nullable=False),
    sa.PrimaryKeyConstraint('token_hash')
    )
    op.create_index(op.f('ix_web_session_email'), 'web_session', ['email'], unique=False)
    op.create_index(op.f('ix_web_session_expires_at'), 'web_session', ['expires_at'], unique=False)
    op.create_table('login_attempt',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sqlmodel.sql.sqltypes.AutoString(length=320), nullable=False),
    sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('at', WHEN, nullable=False),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_login_attempt_email_at', 'login_attempt', ['email', 'at'], unique=False)
    op.create_index('ix_login_attempt_address_at', 'login_attempt', ['address', 'at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_login_attempt_address_at', table_name='login_attempt')
    op.drop_index('ix_login_attempt_email_at', table_name='login_attempt')
    op.drop_table('login_attempt')
    op.drop_index(op.f('ix_web_session_expires_at'), table_name='web_session')
    op.drop_index(op.f('ix_web_session_email'), table_name='web_session')
    op.drop_table('web_session')
    op.drop_table('web_user')
    op.drop_index('ix_version_impact_pipeline', table_name='version_impact')
    op.drop_table('version_impact')
    with op.batch_alter_table('version_event') as batch:
        batch.drop_column('roles')
        batch.drop_column('os_user')
        batch.drop_column('channel')
        batch.drop_column('action')
