"""accounts: passwords, API tokens, failed logins

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import doctrack.storage.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    utc = doctrack.storage.types.UTCDateTime(timezone=True)
    # In place (ALTER TABLE), never by copying app_user: other tables refer to it, and with
    # foreign keys on SQLite refuses to drop the old copy while they hold rows.
    with op.batch_alter_table("app_user", schema=None, recreate="never") as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.Text(), nullable=True))

    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", utc, nullable=False),
        sa.Column("last_used_at", utc, nullable=True),
        sa.Column("revoked_at", utc, nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["app_user.id"], name=op.f("fk_api_token_user_id_app_user")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_token")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_token_token_hash")),
    )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_token_user_id"), ["user_id"], unique=False)

    op.create_table(
        "login_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_name", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("at", utc, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failure")),
    )
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.create_index("ix_login_failure_user_name_at", ["user_name", "at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("login_failure", schema=None) as batch_op:
        batch_op.drop_index("ix_login_failure_user_name_at")
    op.drop_table("login_failure")
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_token_user_id"))
    op.drop_table("api_token")
    # ALTER TABLE ... DROP COLUMN: SQLite 3.35 and later (see upgrade() for why not a copy).
    with op.batch_alter_table("app_user", schema=None, recreate="never") as batch_op:
        batch_op.drop_column("password_hash")
