"""What Guichet adds to FAB's accounts for signing in safely: lockout, the session
generation behind "log out everywhere", and two-factor authentication (TOTP).

FAB's ``ab_user`` belongs to FAB (its screens, its API, its migrations), so these live in a
one-to-one table of their own, created on first need (``services.authentication.state_of``).
The failed attempts themselves are FAB's ``ab_user.fail_login_count``.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from .base import USER_ID, JSONDoc, UTCDateTime


class UserSecurity(Model):
    """One person's sign-in state beyond their password."""

    __tablename__ = "user_security"

    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey(USER_ID, ondelete="CASCADE"), primary_key=True
    )
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """Set when ``fail_login_count`` reaches a multiple of the lockout threshold."""
    session_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    """Copied into each session at sign-in; bumping it ends every session of the person."""
    totp_secret: Mapped[str | None] = mapped_column(sa.String(255))
    """The TOTP secret, encrypted (Fernet, key derived from ``SECRET_KEY``); set while
    enrolling, trusted once ``totp_enabled_at`` is set."""
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger())
    """The time step of the last code accepted: a code is never accepted twice."""
    recovery_codes: Mapped[list[str] | None] = mapped_column(JSONDoc)
    """Keyed hashes (HMAC-SHA-256) of the unused recovery codes; each works once."""
