"""reminders

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import doctrack.storage.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = doctrack.storage.types.UTCDateTime(timezone=True)
    op.create_table(
        "reminder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("summit_id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=True),
        sa.Column("deadline_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("send_at", utc, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("next_attempt_at", utc, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", utc, nullable=True),
        sa.Column("claimed_by", sa.String(length=100), nullable=True),
        sa.Column("first_failure_at", utc, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sent_at", utc, nullable=True),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("message_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.ForeignKeyConstraint(
            ["deadline_id"], ["deadline.id"], name=op.f("fk_reminder_deadline_id_deadline")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"], ["instrument.id"], name=op.f("fk_reminder_instrument_id_instrument")
        ),
        sa.ForeignKeyConstraint(
            ["summit_id"], ["summit.id"], name=op.f("fk_reminder_summit_id_summit")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_reminder_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder")),
        sa.UniqueConstraint("key", name=op.f("uq_reminder_key")),
    )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index("ix_reminder_ready", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index("ix_reminder_instrument", ["instrument_id", "status"], unique=False)
        batch_op.create_index("ix_reminder_deadline", ["deadline_id", "status"], unique=False)
        batch_op.create_index("ix_reminder_summit", ["summit_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_summit")
        batch_op.drop_index("ix_reminder_deadline")
        batch_op.drop_index("ix_reminder_instrument")
        batch_op.drop_index("ix_reminder_ready")
    op.drop_table("reminder")
