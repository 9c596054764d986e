"""How a message shows: its text made safe, its links clickable, its author named.

A message is plain text. It is escaped first, entirely, then only what looks like an
``http://`` or ``https://`` address becomes a link, built from the escaped address: no
markup, script or other scheme (``javascript:``, ``data:``) typed in a message can ever
become live. Line breaks are kept by the stylesheet (``white-space: pre-wrap``), not by
inserting markup.
"""

from __future__ import annotations

import re
from typing import Any

from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from markupsafe import Markup, escape

from app.models import AuthorKind, Message, Procedure

from .services import Side

URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_HAS_HOST = re.compile(r"https?://[^/?#]", re.IGNORECASE)
_TRAILING = ".,;:!?"


def _clean_end(url: str) -> str:
    """Leave out the punctuation that ends a sentence after an address, and a closing
    bracket that closes a parenthesis opened before the address."""
    while url and (url[-1] in _TRAILING or _unbalanced_close(url)):
        url = url[:-1]
    return url


def _unbalanced_close(url: str) -> bool:
    pairs = {")": "(", "]": "["}
    last = url[-1]
    return last in pairs and url.count(last) > url.count(pairs[last])


def message_html(text: str | None, sr_class: str = "usa-sr-only") -> Markup:
    """The message as safe HTML: escaped text, with http(s) addresses as links that open
    in a new window (said to screen readers by a visually hidden note in ``sr_class``)."""
    text = text or ""
    parts: list[Markup] = []
    position = 0
    for match in URL.finditer(text):
        url = _clean_end(match.group(0))
        if not _HAS_HOST.match(url):
            continue
        start, end = match.start(), match.start() + len(url)
        parts.append(escape(text[position:start]))
        parts.append(
            Markup(
                '<a href="{url}" rel="noopener noreferrer nofollow" target="_blank">'
                '{url}<span class="{sr}"> {note}</span></a>'
            ).format(url=url, sr=sr_class, note=gettext("(opens in a new window)"))
        )
        position = end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


HIDDEN_NAMES = {
    AuthorKind.agent: _l("Agent"),
    AuthorKind.expert: _l("Expert"),
}
"""What applicants read instead of an agent's or expert's address when the procedure hides
agents' identities (the French catalogue says “Instructeur”)."""


def author_name(message: Message, procedure: Procedure, side: Side, viewer=None) -> str:
    """Who wrote the message, as the person looking at the thread may know it.

    The administration's side is named by address among agents, and as “Agent” / “Expert”
    to the applicant side when the procedure hides agents' identities. The viewer's own
    messages say “You”.
    """
    author = message.author
    if viewer is not None and author is not None and author.id == getattr(viewer, "id", None):
        return gettext("You")
    if message.author_kind == AuthorKind.system:
        return gettext("Guichet")
    if (
        message.author_kind in HIDDEN_NAMES
        and side == Side.applicant
        and procedure.hide_agent_identity
    ):
        return str(HIDDEN_NAMES[message.author_kind])
    if author is None:
        return gettext("Deleted account")
    return author.email or author.username


def author_role(message: Message) -> Any:
    """The author's part in the thread, shown next to their name."""
    return {
        AuthorKind.applicant: _l("Applicant"),
        AuthorKind.agent: _l("Agent"),
        AuthorKind.expert: _l("Expert"),
        AuthorKind.system: _l("Automatic message"),
    }[message.author_kind]
