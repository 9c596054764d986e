"""The one exception the attachments plugin raises to say no to a person."""

from __future__ import annotations


class UploadRefused(Exception):
    """A file or a request refused, with a message for the person who sent it.

    ``message`` is translated (a lazy string renders in the person's language);
    ``status`` is the HTTP status a view answers with.
    """

    def __init__(self, message, status: int = 400) -> None:
        super().__init__(str(message))
        self.message = message
        self.status = status
