"""File names: what an uploaded name may look like once kept, and how it is sent back.

A name comes from the public internet and is only ever *displayed*: it never becomes a path
or a storage key. It is still cleaned, because it ends up in pages, ZIP archives and
``Content-Disposition`` headers: no directory parts (``../../etc/passwd``), no control or
bidirectional formatting characters (``invoice\\u202egpj.exe`` shows as ``invoiceexe.jpg``),
no leading dots (hidden files), and a bounded length.
"""

from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

MAX_NAME_LENGTH = 180
"""Characters kept of a name (the column holds 255; ZIP paths add a folder in front)."""

FALLBACK_STEM = "document"
"""Stem of a name that had nothing left after cleaning (reads the same in French)."""

_WHITESPACE = re.compile(r"\s+")


def split_extension(name: str) -> tuple[str, str]:
    """``("rapport.final", ".pdf")`` for ``rapport.final.pdf``; the extension is lowercased."""
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or not extension or " " in extension or len(extension) > 10:
        return name, ""
    return stem, "." + extension.lower()


def normalise_name(raw: str | None, extension: str = "") -> str:
    """The display name of an uploaded file.

    ``extension`` (with its dot) is appended when the cleaned name has none, so that a file
    sent without a name or extension still opens with the right program once downloaded.
    """
    name = unicodedata.normalize("NFC", raw or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # browsers on Windows send full paths
    # Cc: control characters; Cf: format characters (bidi overrides, zero-width joiners).
    name = "".join(ch for ch in name if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    name = _WHITESPACE.sub(" ", name).strip().lstrip(".").rstrip(". ")
    stem, current = split_extension(name)
    if not current:
        stem, current = name, extension.lower()
    stem = stem.strip() or FALLBACK_STEM
    stem = stem[: MAX_NAME_LENGTH - len(current)].rstrip(". ")
    return stem + current


def content_disposition(name: str, inline: bool = False) -> str:
    """A ``Content-Disposition`` value with an ASCII fallback and the RFC 5987 UTF-8 name."""
    ascii_name = (
        unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii").strip()
    )
    ascii_name = re.sub(r'["\\;\x00-\x1f\x7f]', "_", ascii_name) or FALLBACK_STEM
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
