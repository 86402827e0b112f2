"""Secrets at rest: the provisioning and SIP password columns hold encrypted values
(`provisioner.storage.secrets`), longer than a password's 128 characters.

PostgreSQL: VARCHAR(128) becomes TEXT (binary-compatible: no table rewrite). SQLite does
not enforce a declared length, and changing a declared type there means rebuilding the
tables (which, with foreign keys on, would cascade), so it keeps VARCHAR(128).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_COLUMNS = (("devices", "provisioning_password"), ("lines", "password"))


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=sa.Text(), existing_type=sa.String(128))


def downgrade() -> None:
    # Fails while an encrypted value is stored: decrypt first (dump --plaintext-secrets,
    # then load with no key set).
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in _COLUMNS:
        op.alter_column(table, column, type_=sa.String(128), existing_type=sa.Text())
