"""The two small tables of the message thread (docs/decisions/0008-message-notifications.md).

- ``message_read``: when a person last opened a dossier's thread, for everyone who is not an
  agent following the dossier (agents use ``Follow.messages_seen_at``, which the agent
  workspace already carries). Unread counters compare messages with it.
- ``message_notification``: a message whose recipients have not been emailed yet. The row
  exists from the message's transaction until the mail covering it is queued; the grouped
  notification takes every row of a dossier at once, so several messages written within a
  few minutes make one mail.

They live in the plugin because only the plugin reads them; they are registered on the
shared metadata, so Alembic and the test suite see them as soon as the plugin is imported.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_appbuilder import Model
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import USER_ID, UTCDateTime, created_at_column


class MessageRead(Model):
    """The last time ``user_id`` opened the thread of ``dossier_id``."""

    __tablename__ = "message_read"

    dossier_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dossier.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        sa.ForeignKey(USER_ID, ondelete="CASCADE"), primary_key=True, index=True
    )
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class MessageNotification(Model):
    """A message not yet covered by a notification mail; deleted once it is."""

    __tablename__ = "message_notification"

    message_id: Mapped[int] = mapped_column(
        sa.ForeignKey("message.id", ondelete="CASCADE"), primary_key=True
    )
    dossier_id: Mapped[int] = mapped_column(
        sa.ForeignKey("dossier.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = created_at_column()
