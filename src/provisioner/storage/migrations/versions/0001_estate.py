"""The estate: clusters, zones, media servers, partners, accounts, devices, lines,
settings layers and the change log.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _id_column() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"

    op.create_table(
        "changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
    )
    op.create_table(
        "global_settings",
        _id_column(),
        sa.Column("settings", sa.JSON(), nullable=False),
    )
    # clusters.default_zone_id and zones.cluster_id refer to each other: SQLite accepts a
    # reference to a table created later, PostgreSQL gets the constraint afterwards.
    default_zone_fk = (
        [
            sa.ForeignKeyConstraint(
                ["default_zone_id"], ["zones.id"], name="cluster_default_zone", ondelete="SET NULL"
            )
        ]
        if sqlite
        else []
    )
    op.create_table(
        "clusters",
        _id_column(),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("domain", sa.String(253), nullable=False, unique=True),
        sa.Column("default_zone_id", sa.Integer(), nullable=True),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('hosted', 'private-cloud', 'global-infrastructure')", name="cluster_kind"
        ),
        *default_zone_fk,
    )
    op.create_table(
        "media_servers",
        _id_column(),
        sa.Column(
            "cluster_id",
            sa.Integer(),
            sa.ForeignKey("clusters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("addresses", sa.JSON(), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("udp_port", sa.Integer(), nullable=False),
        sa.Column("tcp_port", sa.Integer(), nullable=False),
        sa.Column("tls_port", sa.Integer(), nullable=False),
        sa.UniqueConstraint("cluster_id", "name"),
    )
    op.create_table(
        "zones",
        _id_column(),
        sa.Column(
            "cluster_id",
            sa.Integer(),
            sa.ForeignKey("clusters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("proxy_label", sa.String(63), nullable=False),
        sa.Column("latitude", sa.Float(), nullable=False),
        sa.Column("longitude", sa.Float(), nullable=False),
        sa.Column("media_order", sa.String(16), nullable=False),
        sa.Column("srv_weight", sa.Integer(), nullable=False),
        sa.Column("ttl", sa.Integer(), nullable=False),
        sa.Column("transports", sa.JSON(), nullable=False),
        sa.UniqueConstraint("cluster_id", "name"),
        sa.UniqueConstraint("cluster_id", "proxy_label"),
        sa.CheckConstraint("media_order IN ('explicit', 'nearest')", name="zone_media_order"),
    )
    if not sqlite:
        op.create_foreign_key(
            "cluster_default_zone",
            "clusters",
            "zones",
            ["default_zone_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "zone_media_servers",
        sa.Column(
            "zone_id",
            sa.Integer(),
            sa.ForeignKey("zones.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column(
            "media_server_id",
            sa.Integer(),
            sa.ForeignKey("media_servers.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.UniqueConstraint("zone_id", "media_server_id"),
    )
    op.create_table(
        "partners",
        _id_column(),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column(
            "cluster_id",
            sa.Integer(),
            sa.ForeignKey("clusters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("domain", sa.String(253), nullable=False, unique=True),
        sa.Column("settings", sa.JSON(), nullable=False),
    )
    op.create_table(
        "accounts",
        _id_column(),
        sa.Column("name", sa.String(63), nullable=False, unique=True),
        sa.Column(
            "cluster_id",
            sa.Integer(),
            sa.ForeignKey("clusters.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "partner_id",
            sa.Integer(),
            sa.ForeignKey("partners.id", ondelete="CASCADE"),
            nullable=True,
        ),
        sa.Column("sip_domain", sa.String(253), nullable=False),
        sa.Column(
            "zone_id",
            sa.Integer(),
            sa.ForeignKey("zones.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("settings", sa.JSON(), nullable=False),
    )
    op.create_index("ix_accounts_partner_id", "accounts", ["partner_id"])
    op.create_table(
        "devices",
        _id_column(),
        sa.Column("mac", sa.String(12), nullable=False, unique=True),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column(
            "zone_id",
            sa.Integer(),
            sa.ForeignKey("zones.id", ondelete="SET NULL"),
            nullable=True,
        ),
        sa.Column("provisioning_user", sa.String(64), nullable=False),
        sa.Column("provisioning_password", sa.String(128), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
    )
    op.create_index("ix_devices_account_id", "devices", ["account_id"])
    op.create_table(
        "lines",
        _id_column(),
        sa.Column(
            "device_id",
            sa.Integer(),
            sa.ForeignKey("devices.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("sip_user", sa.String(128), nullable=False),
        sa.Column("auth_name", sa.String(128), nullable=False),
        sa.Column("password", sa.String(128), nullable=False),
        sa.Column("display_name", sa.String(128), nullable=False),
        sa.Column("label", sa.String(128), nullable=False),
        sa.UniqueConstraint("device_id", "index"),
    )


def downgrade() -> None:
    for table in (
        "lines",
        "devices",
        "accounts",
        "partners",
        "zone_media_servers",
    ):
        op.drop_table(table)
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint("cluster_default_zone", "clusters", type_="foreignkey")
    for table in ("zones", "media_servers", "clusters", "global_settings", "changes"):
        op.drop_table(table)
