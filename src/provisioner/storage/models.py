"""The estate's tables (SQLAlchemy 2 ORM). The migrations in `migrations/` create them.

Settings layers are JSON columns on their owners (and one global row), so a device's
whole chain — device, account, partner, cluster — comes back from one indexed lookup.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# A secret column holds a value's stored form (`provisioner.storage.secrets`): encrypted,
# or plain text written while no key was set. An encrypted value is longer than the
# 128 characters a password may have: TEXT on PostgreSQL (migration 0003); SQLite keeps
# the VARCHAR(128) of 0001, a length it never enforces (changing a declared type there
# means rebuilding the table).
SECRET = Text().with_variant(String(128), "sqlite")

CLUSTER_KINDS = ("hosted", "private-cloud", "global-infrastructure")
MEDIA_ORDERS = ("explicit", "nearest")


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[str]: JSON}


class Change(Base):
    """One committed change to the estate. Its id only rises: DNS serials and caches
    follow it, and other processes poll it to notice changes. It is also the estate's
    history (`storage.history`): when, who, what."""

    __tablename__ = "changes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    summary: Mapped[str] = mapped_column(Text)  # what changed: counts and names, no value
    # who: the operating-system user for the CLI (an API token's name, later)
    actor: Mapped[str | None] = mapped_column(String(128))
    # " mac1 mac2 ": the devices whose own rows it wrote (`storage.history`), or NULL
    devices: Mapped[str | None] = mapped_column(Text)


class GlobalSettings(Base):
    """The global settings layer: a single row, id 1."""

    __tablename__ = "global_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Cluster(Base):
    __tablename__ = "clusters"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('hosted', 'private-cloud', 'global-infrastructure')", name="cluster_kind"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    default_zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("zones.id", use_alter=True, name="cluster_default_zone", ondelete="SET NULL")
    )
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)

    zones: Mapped[list[Zone]] = relationship(
        back_populates="cluster", foreign_keys="Zone.cluster_id", order_by="Zone.id"
    )
    media_servers: Mapped[list[MediaServer]] = relationship(
        back_populates="cluster", order_by="MediaServer.id"
    )
    partners: Mapped[list[Partner]] = relationship(back_populates="cluster", order_by="Partner.id")
    default_zone: Mapped[Zone | None] = relationship(
        foreign_keys=[default_zone_id], post_update=True
    )
    zone_rules: Mapped[list[ZoneRule]] = relationship(
        back_populates="cluster", order_by="ZoneRule.id", cascade="all, delete-orphan"
    )
    country_zones: Mapped[list[CountryZone]] = relationship(
        back_populates="cluster", order_by="CountryZone.country", cascade="all, delete-orphan"
    )


class MediaServer(Base):
    __tablename__ = "media_servers"
    __table_args__ = (UniqueConstraint("cluster_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    addresses: Mapped[list[str]] = mapped_column(default=list)
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    udp_port: Mapped[int] = mapped_column(default=5060)
    tcp_port: Mapped[int] = mapped_column(default=5060)
    tls_port: Mapped[int] = mapped_column(default=5061)

    cluster: Mapped[Cluster] = relationship(back_populates="media_servers")


class Zone(Base):
    __tablename__ = "zones"
    __table_args__ = (
        UniqueConstraint("cluster_id", "name"),
        UniqueConstraint("cluster_id", "proxy_label"),
        CheckConstraint("media_order IN ('explicit', 'nearest')", name="zone_media_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    proxy_label: Mapped[str] = mapped_column(String(63))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    media_order: Mapped[str] = mapped_column(String(16), default="explicit")
    srv_weight: Mapped[int] = mapped_column(default=50)
    ttl: Mapped[int] = mapped_column(default=300)
    transports: Mapped[list[str]] = mapped_column(default=lambda: ["udp", "tcp", "tls"])

    cluster: Mapped[Cluster] = relationship(back_populates="zones", foreign_keys=[cluster_id])
    media_server_links: Mapped[list[ZoneMediaServer]] = relationship(
        order_by="ZoneMediaServer.position", cascade="all, delete-orphan"
    )


class ZoneMediaServer(Base):
    """A zone's explicit order of media servers (position 0 is preferred)."""

    __tablename__ = "zone_media_servers"
    __table_args__ = (UniqueConstraint("zone_id", "media_server_id"),)

    zone_id: Mapped[int] = mapped_column(
        ForeignKey("zones.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    media_server_id: Mapped[int] = mapped_column(ForeignKey("media_servers.id", ondelete="CASCADE"))

    media_server: Mapped[MediaServer] = relationship()


class Partner(Base):
    """A hosted partner (reseller) whose phones see white-labelled proxy names."""

    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)

    cluster: Mapped[Cluster] = relationship(back_populates="partners")


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    partner_id: Mapped[int | None] = mapped_column(
        ForeignKey("partners.id", ondelete="CASCADE"), index=True
    )
    sip_domain: Mapped[str] = mapped_column(String(253))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)

    cluster: Mapped[Cluster] = relationship()
    partner: Mapped[Partner | None] = relationship()
    zone: Mapped[Zone | None] = relationship()
    devices: Mapped[list[Device]] = relationship(back_populates="account", order_by="Device.mac")


class Device(Base):
    __tablename__ = "devices"

    id: Mapped[int] = mapped_column(primary_key=True)
    mac: Mapped[str] = mapped_column(String(12), unique=True)
    vendor: Mapped[str] = mapped_column(String(32))
    model: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zones.id", ondelete="SET NULL"))
    provisioning_user: Mapped[str] = mapped_column(String(64))
    provisioning_password: Mapped[str] = mapped_column(SECRET)  # stored form: see SECRET
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # What the last fetch told us (see the phones' routes and the GeoIP chain).
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_address: Mapped[str | None] = mapped_column(String(45))
    last_user_agent: Mapped[str | None] = mapped_column(String(255))
    last_firmware: Mapped[str | None] = mapped_column(String(64))
    located_zone_id: Mapped[int | None] = mapped_column(
        ForeignKey("zones.id", ondelete="SET NULL", name="device_located_zone")
    )

    account: Mapped[Account] = relationship(back_populates="devices")
    zone: Mapped[Zone | None] = relationship(foreign_keys=[zone_id])
    lines: Mapped[list[Line]] = relationship(
        order_by="Line.index", cascade="all, delete-orphan", back_populates="device"
    )


class Line(Base):
    """One SIP account on a device (index 1 is the first line key)."""

    __tablename__ = "lines"
    __table_args__ = (UniqueConstraint("device_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column()
    sip_user: Mapped[str] = mapped_column(String(128))
    auth_name: Mapped[str] = mapped_column(String(128))
    password: Mapped[str] = mapped_column(SECRET)  # stored form: see SECRET
    display_name: Mapped[str] = mapped_column(String(128), default="")
    label: Mapped[str] = mapped_column(String(128), default="")

    device: Mapped[Device] = relationship(back_populates="lines")


class ZoneRule(Base):
    """A cluster's network rule: phones whose address is in `network` go to `zone`
    (the most specific network wins)."""

    __tablename__ = "zone_rules"
    __table_args__ = (UniqueConstraint("cluster_id", "network"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cluster_id: Mapped[int] = mapped_column(ForeignKey("clusters.id", ondelete="CASCADE"))
    network: Mapped[str] = mapped_column(String(49))
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"))

    cluster: Mapped[Cluster] = relationship(back_populates="zone_rules")
    zone: Mapped[Zone] = relationship()


class CountryZone(Base):
    """A cluster's country → zone map, used when no city-level location is known."""

    __tablename__ = "country_zones"

    cluster_id: Mapped[int] = mapped_column(
        ForeignKey("clusters.id", ondelete="CASCADE"), primary_key=True
    )
    country: Mapped[str] = mapped_column(String(2), primary_key=True)  # ISO 3166-1 alpha-2
    zone_id: Mapped[int] = mapped_column(ForeignKey("zones.id", ondelete="CASCADE"))

    cluster: Mapped[Cluster] = relationship(back_populates="country_zones")
    zone: Mapped[Zone] = relationship()


class DnsSerial(Base):
    """The SOA serial last published for a DNS zone (a cluster or partner domain). It only
    rises (RFC 1982), across restarts too."""

    __tablename__ = "dns_serials"

    domain: Mapped[str] = mapped_column(String(253), primary_key=True)
    serial: Mapped[int] = mapped_column(BigInteger)
    change_id: Mapped[int] = mapped_column(BigInteger)


class DeviceLog(Base):
    """A log file a phone uploaded (Poly's ``<mac>-app.log``), newest kept, bounded per device."""

    __tablename__ = "device_logs"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class TemplateOverride(Base):
    """An operator's own template for one vendor file, on a cluster, partner or account."""

    __tablename__ = "template_overrides"
    __table_args__ = (UniqueConstraint("layer", "owner_id", "vendor", "file_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    layer: Mapped[str] = mapped_column(String(16))  # cluster | partner | account
    owner_id: Mapped[int] = mapped_column()
    vendor: Mapped[str] = mapped_column(String(32))
    file_kind: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
