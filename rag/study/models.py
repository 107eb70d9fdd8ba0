"""SQLAlchemy 2 models of the progress database (schema changes go through Alembic:
``rag/study/migrations/versions``).

* ``users``: one row per profile (``local`` without a login);
* ``cards``: one row per card a user has practised, with its FSRS review state
  (a bank card that has no row yet is *new* to that user);
* ``attempts``: every graded answer, never updated except by a rating override,
  with the card's state before it so an override can re-apply the review.

Times are stored as timezone-aware UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the progress database")
        return value.astimezone(UTC)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Card(Base):
    """A card one user has practised and its FSRS state (``fsrs.Card`` fields)."""

    __tablename__ = "cards"
    __table_args__ = (UniqueConstraint("user_id", "card_key", name="uq_cards_user_key"),
                      Index("ix_cards_user_due", "user_id", "due"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    card_key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(50))
    question: Mapped[str] = mapped_column(Text)
    state: Mapped[int] = mapped_column(Integer)
    step: Mapped[int | None] = mapped_column(Integer, nullable=True)
    stability: Mapped[float | None] = mapped_column(Float, nullable=True)
    difficulty: Mapped[float | None] = mapped_column(Float, nullable=True)
    due: Mapped[datetime] = mapped_column(UTCDateTime())
    last_review: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reps: Mapped[int] = mapped_column(Integer, default=0)
    lapses: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Attempt(Base):
    """One graded answer to one card."""

    __tablename__ = "attempts"
    __table_args__ = (Index("ix_attempts_user_time", "user_id", "created_at"),
                      Index("ix_attempts_card", "card_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    card_id: Mapped[int] = mapped_column(ForeignKey("cards.id", ondelete="CASCADE"))
    card_key: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(20))
    topic: Mapped[str] = mapped_column(String(50))
    question: Mapped[str] = mapped_column(Text)
    answer: Mapped[str] = mapped_column(Text)
    score: Mapped[float] = mapped_column(Float)
    covered: Mapped[list] = mapped_column(JSON)
    missed: Mapped[list] = mapped_column(JSON)
    grader: Mapped[str] = mapped_column(String(50))
    rating: Mapped[int] = mapped_column(Integer)
    auto_rating: Mapped[int] = mapped_column(Integer)
    card_before: Mapped[dict] = mapped_column(JSON)
    due_after: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
