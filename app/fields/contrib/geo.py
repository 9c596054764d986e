"""Places: a postal address, a country, and French regions, departments and communes.

Countries are ISO 3166-1 alpha-2 codes (``pycountry``, names in the reader's language from
its bundled translations). Regions, departments and communes are INSEE codes checked
against the bundled reference (``app.data.geo``).
"""

from __future__ import annotations

import gettext as gettext_module
import re
import unicodedata
from functools import cache
from typing import Any

import pycountry
from flask_babel import gettext, lazy_gettext
from marshmallow import ValidationError

from ...data.geo import Commune, reference
from ..base import (
    CHOICE_FILTERS,
    PRESENCE,
    CleanContext,
    FieldSpec,
    FieldType,
    OptionsSchema,
    current_language,
    flag,
    invalid,
)
from ..registry import register

GEO_OPERATORS = ("in_department", "not_in_department", "in_region", "not_in_region")
REGION_OPERATORS = ("in_region", "not_in_region")


# -- countries -----------------------------------------------------------------------------


@cache
def _country_translation(language: str) -> gettext_module.NullTranslations:
    return gettext_module.translation(
        "iso3166-1", pycountry.LOCALES_DIR, languages=[language], fallback=True
    )


def country_name(code: str, language: str | None = None) -> str | None:
    """A country's common name in ``language`` (default: the reader's), None if unknown."""
    country = pycountry.countries.get(alpha_2=code.upper()) if isinstance(code, str) else None
    if country is None:
        return None
    english = getattr(country, "common_name", None) or country.name
    translation = _country_translation(language or current_language())
    translated = translation.gettext(english)
    if translated == english and english != country.name:
        translated = translation.gettext(country.name)
    return translated


def countries(language: str | None = None) -> list[tuple[str, str]]:
    """Every country as (code, name), sorted by name in ``language``: the portal's list."""
    return list(_countries(language or current_language()))


@cache
def _countries(language: str) -> tuple[tuple[str, str], ...]:
    named = [
        (country.alpha_2, country_name(country.alpha_2, language))
        for country in pycountry.countries
    ]
    return tuple(sorted(named, key=lambda pair: _sort_key(pair[1])))


def _sort_key(name: str) -> str:
    return unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()


def parse_country(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if len(code) == 2 and pycountry.countries.get(alpha_2=code) else None


@register
class Country(FieldType):
    name = "country"
    label = lazy_gettext("Country")
    group = "places"
    filter_operators = CHOICE_FILTERS
    condition_operators = ("eq", "ne", *PRESENCE)
    condition_kind = "country"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        code = parse_country(value)
        if code is None:
            raise invalid(gettext("Choose a country from the list."))
        return code

    def format(self, value: Any, definition: Any) -> str:
        return country_name(str(value)) or str(value)


# -- French divisions ----------------------------------------------------------------------


def parse_region(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip()
    return code if code in reference().regions else None


def parse_department(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if code in reference().departments else None


def parse_commune(value: Any) -> Commune | None:
    if not isinstance(value, str):
        return None
    return reference().communes.get(value.strip().upper())


@register
class Region(FieldType):
    name = "region"
    label = lazy_gettext("Region")
    group = "places"
    filter_operators = CHOICE_FILTERS
    condition_operators = ("eq", "ne", *REGION_OPERATORS, *PRESENCE)
    condition_kind = "region"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        code = parse_region(value)
        if code is None:
            raise invalid(gettext("Choose a region from the list."))
        return code

    def format(self, value: Any, definition: Any) -> str:
        return reference().regions.get(str(value), str(value))


@register
class Department(FieldType):
    name = "department"
    label = lazy_gettext("Department")
    group = "places"
    filter_operators = CHOICE_FILTERS
    condition_operators = ("eq", "ne", *GEO_OPERATORS, *PRESENCE)
    condition_kind = "department"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        code = parse_department(value)
        if code is None:
            raise invalid(gettext("Choose a department from the list."))
        return code

    def format(self, value: Any, definition: Any) -> str:
        department = reference().departments.get(str(value))
        return f"{department.code} – {department.name}" if department else str(value)


@register
class CommuneField(FieldType):
    """A commune (or a municipal arrondissement of Paris, Lyon, Marseille) by INSEE code."""

    name = "commune"
    label = lazy_gettext("Commune")
    group = "places"
    filter_operators = CHOICE_FILTERS
    condition_operators = ("eq", "ne", *GEO_OPERATORS, *PRESENCE)
    condition_kind = "commune"

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> str:
        commune = parse_commune(value)
        if commune is None:
            raise invalid(gettext("Choose a commune from the list."))
        return commune.code

    def format(self, value: Any, definition: Any) -> str:
        commune = parse_commune(value)
        return f"{commune.name} ({commune.department})" if commune else str(value)


# -- postal address ------------------------------------------------------------------------

ADDRESS_KEYS = ("street", "postcode", "city", "insee_code", "country")
ADDRESS_LIMITS = {"street": 255, "postcode": 20, "city": 120, "insee_code": 5, "country": 2}
_FRENCH_POSTCODE = re.compile(r"\d{5}")


def _city_key(name: str) -> str:
    """A city name for comparison: no accents, case, hyphens or apostrophes; "St" = "Saint"."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().casefold()
    words = re.sub(r"[^a-z0-9]+", " ", ascii_name).split()
    replaced = {"st": "saint", "ste": "sainte"}
    return " ".join(replaced.get(word, word) for word in words)


def find_commune(postcode: str, city: str) -> Commune | None:
    """The one commune with this postcode (and this name, when the postcode has several)."""
    candidates = reference().communes_by_postcode.get(postcode, ())
    if len(candidates) == 1:
        return candidates[0]
    wanted = _city_key(city)
    named = [commune for commune in candidates if _city_key(commune.name) == wanted]
    return named[0] if len(named) == 1 else None


class AddressOptions(OptionsSchema):
    france_only = flag(load_default=False)


@register
class Address(FieldType):
    """A structured postal address ``{street, postcode, city, insee_code, country}``.

    In France the postcode must exist (unless the city is a CEDEX delivery) and match the
    commune when its INSEE code is given; a missing INSEE code is filled in when the postcode
    and city designate one commune, so that conditions can place the address in its
    department and region. Abroad, the INSEE code is dropped.
    """

    name = "address"
    label = lazy_gettext("Postal address")
    group = "places"
    Options = AddressOptions
    filter_operators = ("contains", "empty", "not_empty")
    condition_operators = (*GEO_OPERATORS, *PRESENCE)
    condition_kind = "address"

    def is_empty(self, value: Any) -> bool:
        if isinstance(value, dict):
            return all(self._blank(value.get(key)) for key in ADDRESS_KEYS if key != "country")
        return super().is_empty(value)

    @staticmethod
    def _blank(value: Any) -> bool:
        return value is None or (isinstance(value, str) and not value.strip())

    def to_python(self, value: Any, spec: FieldSpec, context: CleanContext) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise invalid(gettext("Enter a postal address."))
        parts: dict[str, str | None] = {}
        errors: dict[str, list[str]] = {}
        for key in ADDRESS_KEYS:
            raw = value.get(key)
            if self._blank(raw):
                parts[key] = None
                continue
            if not isinstance(raw, str):
                errors[key] = [gettext("Enter text.")]
                parts[key] = None
                continue
            text = " ".join(raw.split())
            if len(text) > ADDRESS_LIMITS[key]:
                errors[key] = [
                    gettext("Enter at most %(max)d characters.", max=ADDRESS_LIMITS[key])
                ]
            parts[key] = text
        country = parse_country(parts["country"] or "FR")
        if country is None:
            errors["country"] = [gettext("Choose a country from the list.")]
        elif country != "FR" and spec.option("france_only", False):
            errors["country"] = [gettext("Enter an address in France.")]
        parts["country"] = country
        if not parts["street"]:
            errors.setdefault("street", [gettext("Enter the number and street.")])
        if not parts["city"]:
            errors.setdefault("city", [gettext("Enter the city.")])
        if country == "FR":
            self._check_french(parts, errors)
        else:
            parts["insee_code"] = None
        if errors:
            raise ValidationError(errors)
        return parts

    @staticmethod
    def _check_french(parts: dict[str, Any], errors: dict[str, list[str]]) -> None:
        postcode, city = parts["postcode"], parts["city"] or ""
        if "postcode" in errors or "insee_code" in errors:
            return
        if not postcode:
            errors["postcode"] = [gettext("Enter the postcode.")]
            return
        if not _FRENCH_POSTCODE.fullmatch(postcode):
            errors["postcode"] = [gettext("A French postcode has 5 digits.")]
            return
        if parts["insee_code"]:
            commune = parse_commune(parts["insee_code"])
            if commune is None:
                errors["insee_code"] = [gettext("This INSEE code matches no commune.")]
            elif (
                commune.postcodes
                and postcode not in commune.postcodes
                and "cedex" not in city.casefold()
            ):
                errors["postcode"] = [gettext("This postcode is not one of the commune's.")]
            else:
                parts["insee_code"] = commune.code
            return
        if postcode not in reference().communes_by_postcode:
            if "cedex" not in city.casefold():
                errors["postcode"] = [gettext("This postcode does not exist.")]
            return
        commune = find_commune(postcode, city)
        parts["insee_code"] = commune.code if commune else None

    def format(self, value: Any, definition: Any) -> str:
        if not isinstance(value, dict):
            return str(value)
        town = " ".join(part for part in (value.get("postcode"), value.get("city")) if part)
        pieces = [value.get("street"), town]
        country = value.get("country")
        if country and country != "FR":
            pieces.append(country_name(country) or country)
        return ", ".join(piece for piece in pieces if piece)
