"""The platform admin reads the mails written to the outbox folder (no SMTP configured)."""

from __future__ import annotations

import re
from email import policy
from email.parser import BytesParser
from pathlib import Path

from flask import abort, current_app
from flask_appbuilder import BaseView, expose, has_access

NAME = re.compile(r"^[0-9]{8}-[0-9a-zA-Z_-]{1,64}\.eml$")
PAGE_SIZE = 100


def _folder() -> Path:
    return Path(current_app.config["MAIL_OUTBOX_DIR"])


def _read(path: Path) -> dict:
    with path.open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    body = message.get_body(preferencelist=("plain",))
    return {
        "name": path.name,
        "to": message["To"],
        "subject": message["Subject"],
        "date": message["Date"],
        "body": body.get_content() if body else "",
        "attachments": [part.get_filename() for part in message.iter_attachments()],
    }


class WrittenMailView(BaseView):
    """Mails written to ``MAIL_OUTBOX_DIR``, newest first."""

    route_base = "/admin/mails"
    default_view = "index"

    @expose("/")
    @has_access
    def index(self):
        folder = _folder()
        paths = sorted(folder.glob("*.eml"), reverse=True)[:PAGE_SIZE] if folder.exists() else []
        mails = [_read(path) for path in paths]
        return self.render_template("guichet/mails.html", mails=mails, mail=None)

    @expose("/<name>")
    @has_access
    def show(self, name: str):
        path = _folder() / name
        if not NAME.match(name) or not path.is_file():
            abort(404)
        return self.render_template("guichet/mails.html", mails=None, mail=_read(path))
