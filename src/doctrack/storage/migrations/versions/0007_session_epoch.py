"""app_user.session_epoch: ending every session of a user

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 09:30:00

A signed-in browser's cookie carries the user's session epoch from the moment they signed
in; a page is served only while it still equals the user's. A password change, "Sign out
everywhere" and ``doctrack user signout`` raise it, which ends every session of that user at
their next click, copied cookies included.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # In place (ALTER TABLE), never by copying app_user: see 0003.
    with op.batch_alter_table("app_user", schema=None, recreate="never") as batch_op:
        batch_op.add_column(
            sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("app_user", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("session_epoch")
