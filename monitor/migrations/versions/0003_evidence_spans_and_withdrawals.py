"""Evidence as offsets into the item's text, the reading behind each detection, withdrawals.

milestones and milestone_sources gain ``evidence_at`` (the field of the item's stored text
and the character offsets of the evidence sentence and its trigger words) and ``reason``
(zone, time anchor, rule); milestones gain ``withdrawn_at`` and ``withdrawn_reason`` for a
milestone that no stored item supports any more under the current rules. Rows stored
before keep their evidence text as it was, with these columns empty.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07 12:00:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from monitor.store.tables import UTCDateTime

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_at', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_at', UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('withdrawn_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('milestone_sources', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_at', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('milestone_sources', schema=None) as batch_op:
        batch_op.drop_column('reason')
        batch_op.drop_column('evidence_at')
    with op.batch_alter_table('milestones', schema=None) as batch_op:
        batch_op.drop_column('withdrawn_reason')
        batch_op.drop_column('withdrawn_at')
        batch_op.drop_column('reason')
        batch_op.drop_column('evidence_at')
