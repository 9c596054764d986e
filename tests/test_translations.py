"""Every user-visible string of the source has a French translation (and an English entry)."""

from pathlib import Path

import pytest
from babel.messages.checkers import python_format
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "_l": None,
}


def singular(message_id) -> str:
    """A plural message is known by its singular form."""
    return message_id[0] if isinstance(message_id, tuple | list) else message_id


def translated(string) -> bool:
    return all(string) if isinstance(string, tuple | list) else bool(string)


def source_messages() -> set[str]:
    with open(ROOT / "babel.cfg") as config:
        method_map, options_map = parse_mapping_cfg(config)
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options_map, keywords=KEYWORDS
    ):
        found.add(singular(message))
    return found


def catalog(lang: str):
    with open(ROOT / "translations" / lang / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f, locale=lang)


@pytest.fixture(scope="module")
def messages():
    return source_messages()


def test_every_source_string_has_a_french_translation(messages):
    french = {singular(m.id): m.string for m in catalog("fr") if m.id}
    missing = sorted(m for m in messages if not translated(french.get(m)))
    assert not missing, "Missing French translations (run `make translations`):\n" + "\n".join(
        missing
    )


def test_every_source_string_is_in_the_english_catalogue(messages):
    english = {singular(m.id) for m in catalog("en") if m.id}
    assert not sorted(messages - english)


@pytest.mark.parametrize("lang", ["fr", "en"])
def test_placeholders_are_kept_in_translations(lang):
    cat = catalog(lang)
    for message in cat:
        if message.id and message.python_format:
            python_format(cat, message)  # raises TranslationError on a mismatch


def test_the_app_speaks_french_by_default(app):
    from flask_babel import gettext

    with app.test_request_context():
        assert gettext("Draft") == "Brouillon"


def test_french_plurals_follow_gettext_two_forms():
    """Babel's CLDR data gives French three plural forms (the third for millions); the
    catalogue keeps gettext's two, which every translation here fills."""
    assert catalog("fr").plural_forms == "nplurals=2; plural=(n > 1);"


def test_no_translation_is_a_fuzzy_guess():
    """pybabel's fuzzy matching guesses from similar strings ("Operator" → "Plateforme"):
    `make messages` turns it off, and no guess may stay in the catalogue."""
    assert [m.id for m in catalog("fr") if m.id and m.fuzzy] == []
