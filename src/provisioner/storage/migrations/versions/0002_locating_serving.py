"""What locating and serving phones need: the devices' last fetch and located zone, network
rules and a country map per cluster, DNS serials, uploaded logs, operator templates.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices") as batch:
        batch.add_column(sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_address", sa.String(45), nullable=True))
        batch.add_column(sa.Column("last_user_agent", sa.String(255), nullable=True))
        batch.add_column(sa.Column("last_firmware", sa.String(64), nullable=True))
        batch.add_column(sa.Column("located_zone_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "device_located_zone", "zones", ["located_zone_id"], ["id"], ondelete="SET NULL"
        )
    op.create_table(
        "zone_rules",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "cluster_id",
            sa.Integer(),
            sa.ForeignKey("clusters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("network", sa.String(49), nullable=False),
        sa.Column(
            "zone_id",
            sa.Integer(),
            sa.ForeignKey("zones.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.UniqueConstraint("cluster_id", "network"),
    )
    op.create_table(
        "country_zones",
        sa.Column(
            "cluster_id",
            sa.Integer(),
            sa.ForeignKey("clusters.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("country", sa.String(2), primary_key=True),
        sa.Column(
            "zone_id",
            sa.Integer(),
            sa.ForeignKey("zones.id", ondelete="CASCADE"),
            nullable=False,
        ),
    )
    op.create_table(
        "dns_serials",
        sa.Column("domain", sa.String(253), primary_key=True),
        sa.Column("serial", sa.BigInteger(), nullable=False),
        sa.Column("change_id", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "device_logs",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "device_id",
            sa.Integer(),
            sa.ForeignKey("devices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_device_logs_device_id", "device_logs", ["device_id"])
    op.create_table(
        "template_overrides",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("layer", sa.String(16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("file_kind", sa.String(64), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.func.now(),
            nullable=False,
        ),
        sa.UniqueConstraint("layer", "owner_id", "vendor", "file_kind"),
    )


def downgrade() -> None:
    for table in (
        "template_overrides",
        "device_logs",
        "dns_serials",
        "country_zones",
        "zone_rules",
    ):
        op.drop_table(table)
    with op.batch_alter_table("devices") as batch:
        batch.drop_constraint("device_located_zone", type_="foreignkey")
        for column in (
            "located_zone_id",
            "last_firmware",
            "last_user_agent",
            "last_address",
            "last_seen_at",
        ):
            batch.drop_column(column)
