"""History: each change records who made it and the devices it wrote.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-09
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.add_column(sa.Column("actor", sa.String(128), nullable=True))
        batch.add_column(sa.Column("devices", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("changes") as batch:
        batch.drop_column("devices")
        batch.drop_column("actor")
