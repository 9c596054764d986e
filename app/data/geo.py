"""French administrative divisions: regions, departments, communes and their postcodes.

The data is ``geo.json`` next to this module, built by ``build_geo.py`` from INSEE's official
geography. It is read on first use, once per process, so that importing the field registry
costs nothing to processes that never check a place.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA_FILE = Path(__file__).resolve().parent / "geo.json"


def department_of_commune(code: str) -> str:
    """The department code inside a commune's INSEE code (``97``/``98`` codes use three digits).

    The browser's condition evaluator uses the same rule; ``build_geo.py`` checks that it holds
    for every bundled commune.
    """
    return code[:3] if code[:2] in ("97", "98") else code[:2]


@dataclass(frozen=True)
class Commune:
    code: str
    name: str
    postcodes: tuple[str, ...]

    @property
    def department(self) -> str:
        return department_of_commune(self.code)


@dataclass(frozen=True)
class Department:
    code: str
    name: str
    region: str


@dataclass(frozen=True)
class GeoReference:
    """The loaded reference: look-ups by code, and communes by postcode."""

    source: str
    regions: dict[str, str]
    departments: dict[str, Department]
    communes: dict[str, Commune]
    communes_by_postcode: dict[str, tuple[Commune, ...]]

    def region_of_department(self, code: str) -> str | None:
        department = self.departments.get(code)
        return department.region if department else None


@cache
def reference() -> GeoReference:
    """The bundled reference, loaded once."""
    raw = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    departments = {
        code: Department(code, name, region) for code, (name, region) in raw["departments"].items()
    }
    communes = {
        code: Commune(code, name, tuple(postcodes.split()))
        for code, (name, postcodes) in raw["communes"].items()
    }
    by_postcode: dict[str, list[Commune]] = {}
    for commune in communes.values():
        for postcode in commune.postcodes:
            by_postcode.setdefault(postcode, []).append(commune)
    return GeoReference(
        source=raw["source"],
        regions=dict(raw["regions"]),
        departments=departments,
        communes=communes,
        communes_by_postcode={key: tuple(value) for key, value in by_postcode.items()},
    )


def department_regions() -> dict[str, str]:
    """``{department code: region code}``: what the browser's evaluator needs for geo operators."""
    return {code: department.region for code, department in reference().departments.items()}
