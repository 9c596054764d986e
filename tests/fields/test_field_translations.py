"""Every user-visible string of the field registry and the condition language has a French
translation waiting in translations/pending/fields.json (or already in the catalogue)."""

import json
import re
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "app" / "fields").rglob("*.py")), ROOT / "app" / "conditions.py"]
KEYWORDS = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w+\}")


def messages() -> set[str]:
    found: set[str] = set()
    for source in SOURCES:
        for _line, message, _comments, _context in extract_from_file(
            "python", source, keywords=KEYWORDS
        ):
            found.update(message if isinstance(message, tuple) else [message])
    return found


def french() -> dict[str, str]:
    pending_file = ROOT / "translations" / "pending" / "fields.json"
    pending = json.loads(pending_file.read_text(encoding="utf-8")) if pending_file.exists() else {}
    known: dict[str, str] = {}
    with open(ROOT / "translations" / "fr" / "LC_MESSAGES" / "messages.po", "rb") as po:
        for message in read_po(po, locale="fr"):
            if not message.id or message.fuzzy:
                continue
            if isinstance(message.id, tuple):
                known.update(zip(message.id, message.string, strict=False))
            else:
                known[message.id] = message.string
    return {**{key: value for key, value in known.items() if value}, **pending}


def test_every_string_has_a_french_translation() -> None:
    translations = french()
    missing = sorted(message for message in messages() if not translations.get(message))
    assert not missing, "Missing French translations:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders() -> None:
    translations = french()
    for message in messages():
        expected = sorted(PLACEHOLDER.findall(message))
        assert sorted(PLACEHOLDER.findall(translations[message])) == expected, message


def test_there_are_strings_to_translate() -> None:
    assert len(messages()) > 100


def test_applicants_read_the_messages_in_french(app) -> None:
    from app.fields import validate_answers

    form = [
        {"stable_id": "siret", "type": "siret", "label": "SIRET", "required": True},
        {"stable_id": "cgu", "type": "checkbox", "label": "J'atteste", "required": True},
        {"stable_id": "n", "type": "integer", "label": "N", "options": {"max": 10}},
    ]
    with app.test_request_context():
        _cleaned, errors = validate_answers(form, {"siret": "73282932000075", "n": "12"})
    assert errors == {
        "siret": ["Le numéro SIRET n'est pas valide : vérifiez ses chiffres."],
        "cgu": ["Vous devez cocher cette case."],
        "n": ["Saisissez un nombre inférieur ou égal à 10."],
    }
