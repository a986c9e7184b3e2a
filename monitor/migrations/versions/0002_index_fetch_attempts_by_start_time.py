"""Index fetch attempts by start time, for the retention of schedule.keep_fetch_attempts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 23:02:03.342916
"""
from __future__ import annotations

from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('fetch_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_fetch_attempts_started', ['started_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('fetch_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_fetch_attempts_started')

