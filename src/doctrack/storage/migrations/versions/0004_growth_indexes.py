"""indexes for large databases: paged instrument lists, scheduled-report rows

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-12 09:00:00

Found by ``bench/growth.py`` and checked by ``tests/storage/test_query_plans.py``:

- ``doc list`` filtered by summit and/or state, in slug order, a page at a time: with
  ``(summit_id, state)`` or ``(state)`` alone, every matching instrument was read and sorted
  to return 50 of them (SQLite: a temporary B-tree; PostgreSQL: the slug index walked with
  a filter). The slug at the end of each index gives the rows in order, so a page reads
  the page. ``(summit_id, state, slug)`` replaces ``(summit_id, state)`` (its prefix) and
  ``(state, slug)`` replaces ``(state)``.
- every ``reminders run`` (and scheduler tick) looks for planned report rows not due yet
  (``kind = 'report' AND send_at > now``): a scan of the whole reminder table.
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_instrument_summit_state_slug", "instrument", ["summit_id", "state", "slug"])
    op.create_index("ix_instrument_summit_slug", "instrument", ["summit_id", "slug"])
    op.create_index("ix_instrument_state_slug", "instrument", ["state", "slug"])
    op.drop_index("ix_instrument_summit_state", table_name="instrument")
    op.drop_index("ix_instrument_state", table_name="instrument")
    op.create_index("ix_reminder_kind_send_at", "reminder", ["kind", "send_at"])


def downgrade() -> None:
    op.drop_index("ix_reminder_kind_send_at", table_name="reminder")
    op.create_index("ix_instrument_state", "instrument", ["state"])
    op.create_index("ix_instrument_summit_state", "instrument", ["summit_id", "state"])
    op.drop_index("ix_instrument_state_slug", table_name="instrument")
    op.drop_index("ix_instrument_summit_slug", table_name="instrument")
    op.drop_index("ix_instrument_summit_state_slug", table_name="instrument")
