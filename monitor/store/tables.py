"""SQLAlchemy 2 typed tables. Created only by Alembic migrations (monitor/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from monitor.model import IDENTITY_MAX

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes everywhere: SQLite drops tzinfo, so we put it back."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


Id = BigInteger().with_variant(Integer(), "sqlite")  # SQLite autoincrement needs INTEGER


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}  # noqa: RUF012 - SQLAlchemy reads it


class FeedRow(Base):
    __tablename__ = "feeds"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    url: Mapped[str] = mapped_column(Text)                      # as configured
    current_url: Mapped[str | None] = mapped_column(Text)       # after a permanent redirect
    language: Mapped[str | None] = mapped_column(String(16))
    outlet: Mapped[str | None] = mapped_column(String(200))
    interval_s: Mapped[float] = mapped_column(Float, default=900.0)
    in_config: Mapped[bool] = mapped_column(Boolean, default=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_unconditional_at: Mapped[datetime | None]
    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    failures: Mapped[int] = mapped_column(Integer, default=0)
    unhealthy: Mapped[bool] = mapped_column(Boolean, default=False)
    unhealthy_since: Mapped[datetime | None]
    last_polled_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_new_item_at: Mapped[datetime | None]
    silent_since: Mapped[datetime | None]   # flagged: no new item for alerting.feed_silence
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[datetime | None]
    polls: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]


class FetchAttemptRow(Base):
    __tablename__ = "fetch_attempts"
    __table_args__ = (Index("ix_fetch_attempts_feed_started", "feed_id", "started_at"),
                      Index("ix_fetch_attempts_started", "started_at"))  # retention

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    started_at: Mapped[datetime]
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))  # new | unchanged | not_modified | error
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    items_seen: Mapped[int] = mapped_column(Integer, default=0)
    items_new: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(100))


class ItemRow(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("feed_id", "identity", name="uq_items_feed_identity"),
        Index("ix_items_first_seen", "first_seen_at"),
        Index("ix_items_published", "published"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"))
    identity: Mapped[str] = mapped_column(String(IDENTITY_MAX))
    url: Mapped[str | None] = mapped_column(Text, index=True)
    link: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str] = mapped_column(Text, default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    content: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    published: Mapped[datetime | None]
    first_seen_at: Mapped[datetime]
    fingerprint: Mapped[str] = mapped_column(String(64), index=True, default="")
    story_id: Mapped[int | None] = mapped_column(Id, index=True)  # first item of the same story
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # classification
    classified_at: Mapped[datetime | None]
    relevant: Mapped[bool | None] = mapped_column(Boolean, index=True)
    score: Mapped[float | None] = mapped_column(Float)
    watchlists: Mapped[list[Any]] = mapped_column(JSON, default=list)
    actors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    milestones: Mapped[list[Any]] = mapped_column(JSON, default=list)
    classifier_version: Mapped[str | None] = mapped_column(String(200))


class MilestoneRow(Base):
    __tablename__ = "milestones"
    __table_args__ = (Index("ix_milestones_key_seen", "watchlist", "type", "key", "last_seen_at"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    watchlist: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(400))       # principal actors, joined
    status: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16), default="medium")
    title: Mapped[str] = mapped_column(Text)
    type_title: Mapped[str] = mapped_column(Text, default="")
    evidence: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    actors: Mapped[list[Any]] = mapped_column(JSON, default=list)
    triggers: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rule: Mapped[str] = mapped_column(String(200), default="")
    watchlist_version: Mapped[str] = mapped_column(String(100), default="")
    event_at: Mapped[datetime]                          # the first report's published time
    first_seen_at: Mapped[datetime] = mapped_column(index=True)
    last_seen_at: Mapped[datetime]
    first_item_id: Mapped[int | None] = mapped_column(Id)
    sources: Mapped[int] = mapped_column(Integer, default=1)
    alerted: Mapped[bool] = mapped_column(Boolean, default=False)
    stale: Mapped[bool] = mapped_column(Boolean, default=False)  # first seen past max_item_age
    # where the first report's evidence sits in its item's text (model.EvidenceSpan) and
    # why it fired (model.Reason); empty for milestones stored before these were kept
    evidence_at: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # set when no stored item supports it under the current rules (monitor reclassify)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)


class MilestoneSourceRow(Base):
    __tablename__ = "milestone_sources"
    __table_args__ = (UniqueConstraint("milestone_id", "item_id", name="uq_milestone_sources_pair"),)

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    milestone_id: Mapped[str] = mapped_column(ForeignKey("milestones.id", ondelete="CASCADE"),
                                              index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(32))
    evidence: Mapped[str] = mapped_column(Text, default="")
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    added_at: Mapped[datetime]
    evidence_at: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    reason: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class AlertRow(Base):
    """The outbox: one row per (event, channel), written in the transaction that causes it."""

    __tablename__ = "alerts"
    __table_args__ = (
        UniqueConstraint("dedupe_key", "channel", name="uq_alerts_dedupe_channel"),
        Index("ix_alerts_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    delivery_id: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(200))
    event: Mapped[str] = mapped_column(String(32))      # milestone | feed_health | digest
    dedupe_key: Mapped[str] = mapped_column(String(400))
    milestone_id: Mapped[str | None] = mapped_column(ForeignKey("milestones.id",
                                                                ondelete="SET NULL"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(16), default="pending")  # pending|delivered|dead
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class DeliveryAttemptRow(Base):
    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime]
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    outcome: Mapped[str] = mapped_column(String(16))    # delivered | retry | dead
    status: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str | None] = mapped_column(String(100))


class ChannelStateRow(Base):
    """Per-channel bookkeeping: when the last digest covered up to."""

    __tablename__ = "channel_state"

    channel: Mapped[str] = mapped_column(String(200), primary_key=True)
    last_digest_at: Mapped[datetime | None]


def utcnow() -> datetime:
    return datetime.now(UTC)
