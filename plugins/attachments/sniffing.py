"""What a file really is, read from its first bytes with libmagic (python-magic).

The browser's declared type and the name's extension are recorded but never decide: a file
is accepted only when its *content* is one of the types listed in ``KINDS``, that type's
family is allowed where it is sent, and its name's extension is one that this content may
carry. The last rule matters for the people who download it: a text file named ``run.bat``
or ``page.html`` is text to libmagic but a program or a page to the agent's computer.
Anything not listed (executables, HTML, SVG, scripts, unknown binary data) is refused.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import magic
from flask_babel import lazy_gettext as _l

from .errors import UploadRefused
from .names import split_extension

SNIFF_BYTES = 256 * 1024
"""Bytes handed to libmagic: enough to see inside Office and OpenDocument containers."""


class Family:
    """Families of formats an administrator allows per attachment field. The names are the
    values stored in a field's ``families`` option (``app.fields.contrib.links``)."""

    document = "document"
    spreadsheet = "spreadsheet"
    presentation = "presentation"
    image = "image"
    archive = "archive"
    audio = "audio"
    video = "video"

    ALL = (document, spreadsheet, presentation, image, archive, audio, video)


FAMILY_LABELS = {
    Family.document: _l("documents (PDF, text, word processing)"),
    Family.spreadsheet: _l("spreadsheets"),
    Family.presentation: _l("presentations"),
    Family.image: _l("images"),
    Family.archive: _l("archives (ZIP, 7z…)"),
    Family.audio: _l("audio files"),
    Family.video: _l("videos"),
}


@dataclass(frozen=True)
class Kind:
    """One accepted content type: its family and the extensions its name may end with
    (the first is added to a name that has none). ``also`` lists extensions that put the
    same content in another family (plain text named ``.csv`` is a spreadsheet)."""

    family: str
    extensions: tuple[str, ...]
    also: dict[str, str] = field(default_factory=dict)


_D, _S, _P, _I, _A = (
    Family.document,
    Family.spreadsheet,
    Family.presentation,
    Family.image,
    Family.archive,
)
_AU, _V = Family.audio, Family.video
_OFFICE_IN_ZIP = {".docx": _D, ".odt": _D, ".xlsx": _S, ".ods": _S, ".pptx": _P, ".odp": _P}

KINDS: dict[str, Kind] = {
    # documents
    "application/pdf": Kind(_D, (".pdf",)),
    "text/plain": Kind(_D, (".txt", ".text", ".md"), also={".csv": _S, ".tsv": _S}),
    "application/msword": Kind(_D, (".doc", ".dot")),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": Kind(_D, (".docx",)),
    "application/vnd.oasis.opendocument.text": Kind(_D, (".odt",)),
    "application/rtf": Kind(_D, (".rtf",)),
    "text/rtf": Kind(_D, (".rtf",)),
    # spreadsheets
    "text/csv": Kind(_S, (".csv", ".tsv"), also={".txt": _D}),
    "application/vnd.ms-excel": Kind(_S, (".xls",)),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": Kind(_S, (".xlsx",)),
    "application/vnd.oasis.opendocument.spreadsheet": Kind(_S, (".ods",)),
    # presentations
    "application/vnd.ms-powerpoint": Kind(_P, (".ppt",)),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": Kind(
        _P, (".pptx",)
    ),
    "application/vnd.oasis.opendocument.presentation": Kind(_P, (".odp",)),
    # images (raster only: SVG can carry scripts)
    "image/jpeg": Kind(_I, (".jpg", ".jpeg", ".jfif")),
    "image/png": Kind(_I, (".png",)),
    "image/gif": Kind(_I, (".gif",)),
    "image/webp": Kind(_I, (".webp",)),
    "image/tiff": Kind(_I, (".tif", ".tiff")),
    "image/heic": Kind(_I, (".heic",)),
    "image/heif": Kind(_I, (".heif",)),
    "image/bmp": Kind(_I, (".bmp",)),
    # archives (Office files are ZIP containers that libmagic does not always recognise)
    "application/zip": Kind(_A, (".zip",), also=_OFFICE_IN_ZIP),
    "application/x-7z-compressed": Kind(_A, (".7z",)),
    "application/vnd.rar": Kind(_A, (".rar",)),
    "application/x-rar": Kind(_A, (".rar",)),
    "application/gzip": Kind(_A, (".gz", ".tgz")),
    "application/x-tar": Kind(_A, (".tar",)),
    "application/x-bzip2": Kind(_A, (".bz2",)),
    "application/x-xz": Kind(_A, (".xz",)),
    # audio and video
    "audio/mpeg": Kind(_AU, (".mp3",)),
    "audio/ogg": Kind(_AU, (".ogg", ".oga", ".opus")),
    "audio/x-wav": Kind(_AU, (".wav",)),
    "audio/wav": Kind(_AU, (".wav",)),
    "audio/flac": Kind(_AU, (".flac",)),
    "audio/x-flac": Kind(_AU, (".flac",)),
    "audio/x-m4a": Kind(_AU, (".m4a",)),
    "audio/mp4": Kind(_AU, (".m4a",), also={".mp4": _V}),
    "video/mp4": Kind(_V, (".mp4", ".m4v")),
    "video/quicktime": Kind(_V, (".mov",)),
    "video/webm": Kind(_V, (".webm",)),
    "video/x-matroska": Kind(_V, (".mkv",)),
    "video/x-msvideo": Kind(_V, (".avi",)),
    "video/mpeg": Kind(_V, (".mpeg", ".mpg")),
    "video/ogg": Kind(_V, (".ogv",)),
}

INLINE_TYPES = frozenset(
    {"application/pdf", "image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"}
)
"""Types a browser may show in place (behind a restrictive CSP); all others download."""


@dataclass(frozen=True)
class Verdict:
    """An accepted file: its real type, its family and the extension its kept name ends with."""

    mime: str
    family: str
    extension: str


def sniff(head: bytes) -> str:
    """The MIME type libmagic reads from the first bytes of a file."""
    return magic.from_buffer(head[:SNIFF_BYTES], mime=True)


def describe(head: bytes) -> str:
    """libmagic's human description (``PE32 executable…``), for messages and logs."""
    return magic.from_buffer(head[:SNIFF_BYTES])[:120]


def classify(head: bytes, filename: str, allowed: Collection[str] | None = None) -> Verdict:
    """Accept or refuse a file from its first bytes and its name.

    ``allowed``: the families accepted where the file is sent (``None``: every family).
    Raises ``UploadRefused`` with a message for the applicant.
    """
    mime = sniff(head)
    kind = KINDS.get(mime)
    shown_name = filename or "?"
    if kind is None:
        raise UploadRefused(
            _l(
                "The file “%(name)s” is refused: its content (%(detail)s) is not a type of "
                "file accepted here.",
                name=shown_name,
                detail=describe(head),
            )
        )
    _stem, extension = split_extension(filename or "")
    if not extension:
        family, extension = kind.family, kind.extensions[0]
    elif extension in kind.extensions:
        family = kind.family
    elif extension in kind.also:
        family = kind.also[extension]
    else:
        raise UploadRefused(
            _l(
                "The file “%(name)s” is refused: its name ends in %(extension)s but its "
                "content is of type %(type)s. Send the original file, with its own name.",
                name=shown_name,
                extension=extension,
                type=mime,
            )
        )
    if allowed is not None and family not in allowed:
        raise UploadRefused(
            _l(
                "The file “%(name)s” is refused: only %(families)s are accepted here.",
                name=shown_name,
                families=families_text(allowed),
            )
        )
    return Verdict(mime=mime, family=family, extension=extension)


def families_text(families: Collection[str]) -> str:
    """``documents, images`` in the reader's language, in a stable order."""
    return ", ".join(str(FAMILY_LABELS[f]) for f in Family.ALL if f in families)


def accept_attribute(
    families: Collection[str] | None = None, types: Collection[str] | None = None
) -> str:
    """The ``accept`` attribute of a file input for these families, narrowed to ``types``
    (MIME types) when given (a hint to the browser; the server decides on the content)."""
    wanted = set(Family.ALL if families is None else families)
    extensions: set[str] = set()
    for mime, kind in KINDS.items():
        if types is not None and mime not in types:
            continue
        if kind.family in wanted:
            extensions.update(kind.extensions)
        extensions.update(ext for ext, family in kind.also.items() if family in wanted)
    return ",".join(sorted(extensions))
