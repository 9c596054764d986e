"""Who the applicant is and how to reach them: civility, email, phone, SIRET, IBAN."""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext, lazy_gettext

from ..base import (
    CHOICE_FILTERS,
    PRESENCE,
    TEXT_FILTERS,
    CleanContext,
    FieldSpec,
    FieldType,
    invalid,
    require_string,
)
from ..registry import register

_WHITESPACE = re.compile(r"[\s\u00a0\u202f]+")

CIVILITIES = {"Mme": lazy_gettext("Madam"), "M.": lazy_gettext("Sir")}
"""Stored civility codes and how they read."""
CIVILITY_ALIASES = {"mme": "Mme", "madame": "Mme", "m.": "M.", "m": "M.", "monsieur": "M."}
"""What people and APIs send, lower-cased; conditions.js knows the same aliases."""


def parse_civility(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    return CIVILITY_ALIASES.get(value.strip().lower())


@register
class Civility(FieldType):
    name = "civility"
    label = lazy_gettext("Civility")
    group = "choices"
    filter_operators = CHOICE_FILTERS
    condition_operators = ("eq", "ne", *PRESENCE)
    condition_kind = "civility"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        civility = parse_civility(value)
        if civility is None:
            raise invalid(gettext("Choose Madam or Sir."))
        return civility

    def format(self, value: Any, definition: Any) -> str:
        civility = parse_civility(value)
        return str(CIVILITIES[civility]) if civility else str(value)


EMAIL_LIMIT = 254


@register
class Email(FieldType):
    """An email address, normalised (domain in lower case) without any DNS query."""

    name = "email"
    label = lazy_gettext("Email address")
    group = "text"
    filter_operators = TEXT_FILTERS
    condition_operators = ("eq", "ne", *PRESENCE)
    condition_kind = "email"
    compatible_types = frozenset({"text", "textarea"})

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        value = require_string(value, gettext("Enter a valid email address."))
        if len(value) > EMAIL_LIMIT:
            raise invalid(gettext("Enter a valid email address."))
        try:
            return validate_email(value, check_deliverability=False).normalized
        except EmailNotValidError:
            raise invalid(
                gettext("Enter a valid email address, for example nom@exemple.fr.")
            ) from None


DEFAULT_PHONE_REGION = "FR"
FRENCH_OVERSEAS_REGIONS = ("GP", "MQ", "GF", "RE", "YT", "PM", "BL", "MF", "NC", "PF", "WF")
"""Overseas France dials "0696…" at home but has its own country code (+596…): a number that
is not valid as metropolitan French is tried as each of them."""
FRENCH_COUNTRY_CODES = frozenset({33, 262, 269, 508, 590, 594, 596, 681, 687, 689})


def parse_phone(value: str) -> phonenumbers.PhoneNumber | None:
    """The valid phone number written in ``value`` (French by default), else None."""
    for region in (DEFAULT_PHONE_REGION, *FRENCH_OVERSEAS_REGIONS):
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return None
        if phonenumbers.is_valid_number(number):
            return number
        if value.lstrip().startswith(("+", "00")):
            return None
    return None


@register
class Phone(FieldType):
    """A French or international phone number, stored in E.164 form (+33612345678)."""

    name = "phone"
    label = lazy_gettext("Phone number")
    group = "text"
    filter_operators = TEXT_FILTERS
    condition_operators = PRESENCE
    condition_kind = "presence"
    compatible_types = frozenset({"text", "textarea"})

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        value = require_string(value, gettext("Enter a valid phone number."))
        number = parse_phone(value[:40])
        if number is None:
            raise invalid(
                gettext(
                    "Enter a valid phone number, for example 06 12 34 56 78 or +44 20 7946 0958."
                )
            )
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    def format(self, value: Any, definition: Any) -> str:
        try:
            number = phonenumbers.parse(str(value), DEFAULT_PHONE_REGION)
        except phonenumbers.NumberParseException:
            return str(value)
        style = (
            phonenumbers.PhoneNumberFormat.NATIONAL
            if number.country_code in FRENCH_COUNTRY_CODES
            else phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
        return phonenumbers.format_number(number, style)


LA_POSTE_SIREN = "356000000"


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, character in enumerate(reversed(digits)):
        digit = int(character)
        if position % 2 == 1:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return total % 10 == 0


def siret_valid(siret: str) -> bool:
    """Fourteen digits passing the Luhn check.

    La Poste's establishments share the SIREN 356 000 000 and are too many for the Luhn
    key: their SIRETs are valid when the sum of their digits is a multiple of 5 (INSEE's
    rule), and its head office 356 000 000 00048 passes Luhn as usual.
    """
    if not (len(siret) == 14 and siret.isascii() and siret.isdigit()):
        return False
    if luhn_valid(siret):
        return True
    return siret.startswith(LA_POSTE_SIREN) and sum(map(int, siret)) % 5 == 0


@register
class Siret(FieldType):
    """A French establishment number, stored as 14 digits without spaces."""

    name = "siret"
    label = lazy_gettext("SIRET number")
    group = "identifiers"
    filter_operators = TEXT_FILTERS
    condition_operators = ("eq", "ne", *PRESENCE)
    condition_kind = "siret"
    compatible_types = frozenset({"text", "textarea"})

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        siret = _WHITESPACE.sub("", require_string(value, gettext("A SIRET number has 14 digits.")))
        if not (len(siret) == 14 and siret.isascii() and siret.isdigit()):
            raise invalid(gettext("A SIRET number has 14 digits."))
        if not siret_valid(siret):
            raise invalid(gettext("This SIRET number is not valid: check its digits."))
        return siret

    def format(self, value: Any, definition: Any) -> str:
        value = str(value)
        if len(value) != 14:
            return value
        return f"{value[:3]} {value[3:6]} {value[6:9]} {value[9:]}"


IBAN_LENGTHS = {
    "AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18,
    "EE": 20, "ES": 24, "FI": 18, "FR": 27, "GB": 22, "GI": 23, "GR": 27, "HR": 21, "HU": 28,
    "IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31,
    "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27,
    "VA": 22,
}  # fmt: skip
"""IBAN lengths of the SEPA countries; other countries' IBANs get the general checks."""
_IBAN = re.compile(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}")


def iban_valid(iban: str) -> bool:
    """Shape, the country's length when known, and the ISO 13616 mod-97 check."""
    if not _IBAN.fullmatch(iban):
        return False
    expected = IBAN_LENGTHS.get(iban[:2])
    if expected is not None and len(iban) != expected:
        return False
    rearranged = iban[4:] + iban[:4]
    return int("".join(str(int(character, 36)) for character in rearranged)) % 97 == 1


@register
class Iban(FieldType):
    """A bank account number, stored in upper case without spaces."""

    name = "iban"
    label = lazy_gettext("IBAN")
    group = "identifiers"
    filter_operators = TEXT_FILTERS
    condition_operators = PRESENCE
    condition_kind = "presence"
    compatible_types = frozenset({"text", "textarea"})

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        iban = _WHITESPACE.sub("", require_string(value, gettext("Enter a valid IBAN."))).upper()
        iban = iban.replace("-", "")
        if not iban_valid(iban):
            raise invalid(gettext("This IBAN is not valid: check it against your bank details."))
        return iban

    def format(self, value: Any, definition: Any) -> str:
        value = str(value)
        return " ".join(value[index : index + 4] for index in range(0, len(value), 4))
