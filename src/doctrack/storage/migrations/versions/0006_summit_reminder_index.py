"""the summit reminders of a summit, by (summit_id, kind)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 06:00:00

Moving a summit re-plans its summit reminders: ``kind = 'summit' AND summit_id = ?``. With
``(summit_id)`` alone that read every reminder of the summit, and the deadline reminders of
all its instruments far outnumber its few summit reminders (100,000 instruments give about
1.5 million). ``(summit_id, kind)`` replaces ``(summit_id)``, its prefix, which still serves
the foreign key. Checked by ``tests/storage/test_query_plans.py``.
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_reminder_summit_kind", "reminder", ["summit_id", "kind"])
    op.drop_index("ix_reminder_summit", table_name="reminder")


def downgrade() -> None:
    op.create_index("ix_reminder_summit", "reminder", ["summit_id"])
    op.drop_index("ix_reminder_summit_kind", table_name="reminder")
