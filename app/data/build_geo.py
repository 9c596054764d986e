"""Build ``geo.json``, the French administrative divisions bundled with Guichet.

The source is the npm package ``@etalab/decoupage-administratif`` (INSEE's official
geography, published by Etalab), installed by ``npm install`` from ``package.json``. Run
``.venv/bin/python app/data/build_geo.py`` after upgrading that package and commit the
result: the application never reads ``node_modules`` (production images drop it).

Only what the field types and the condition language need is kept, to keep the file small:

- regions: ``{code: name}``;
- departments: ``{code: [name, region code]}``;
- communes: ``{code: [name, "postcode postcode …"]}``, current communes and the municipal
  arrondissements of Paris, Lyon and Marseille (addresses often carry their codes).

A commune's department is not stored: it is its code's first two characters, or three for
overseas codes starting with 97 or 98. The browser's evaluator relies on that rule, so this
script refuses data where it does not hold.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE = HERE.parent.parent / "node_modules" / "@etalab" / "decoupage-administratif"
OUTPUT = HERE / "geo.json"
KEPT_COMMUNE_KINDS = {"commune-actuelle", "arrondissement-municipal"}


def department_of_commune(code: str) -> str:
    """The department code inside a commune's INSEE code."""
    return code[:3] if code[:2] in ("97", "98") else code[:2]


def build(source: Path = SOURCE) -> dict:
    """Read the package's JSON files and return the compact reference document."""
    data = source / "data"
    version = json.loads((source / "package.json").read_text())["version"]
    regions = json.loads((data / "regions.json").read_text())
    departments = json.loads((data / "departements.json").read_text())
    communes = json.loads((data / "communes.json").read_text())

    region_names = {region["code"]: region["nom"] for region in regions}
    department_rows = {}
    for department in departments:
        if department["region"] not in region_names:
            raise ValueError(f"department {department['code']} has an unknown region")
        department_rows[department["code"]] = [department["nom"], department["region"]]

    commune_rows = {}
    for commune in communes:
        if commune["type"] not in KEPT_COMMUNE_KINDS:
            continue
        code = commune["code"]
        if department_of_commune(code) != commune["departement"]:
            raise ValueError(f"commune {code} breaks the code → department rule")
        if commune["departement"] not in department_rows:
            raise ValueError(f"commune {code} has an unknown department")
        if code in commune_rows:
            raise ValueError(f"commune {code} appears twice")
        commune_rows[code] = [commune["nom"], " ".join(commune.get("codesPostaux", []))]

    return {
        "source": f"@etalab/decoupage-administratif {version}",
        "regions": dict(sorted(region_names.items())),
        "departments": dict(sorted(department_rows.items())),
        "communes": dict(sorted(commune_rows.items())),
    }


def main() -> int:
    if not (SOURCE / "data").is_dir():
        print(f"{SOURCE} is missing: run `npm install` first", file=sys.stderr)
        return 1
    document = build()
    OUTPUT.write_text(
        json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=False) + "\n",
        encoding="utf-8",
    )
    counts = {key: len(document[key]) for key in ("regions", "departments", "communes")}
    print(f"{OUTPUT.name}: {OUTPUT.stat().st_size:,} bytes, {counts}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
