"""The condition language: generated conditions never crash the Python evaluator, and the
browser's evaluator (conditions.js) answers exactly as the server does on them.

Hypothesis draws batches of cases (conditions over every kind of field, with answers of
every shape); each batch is evaluated in Python, written to a JSON file and evaluated by
the very same JavaScript module the portal serves, under Node. A disagreement is shrunk to
a small batch and shown.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.conditions import OPERATORS, client_geo, evaluate, visible_fields
from app.fields import get

ROOT = Path(__file__).resolve().parents[2]
CONDITIONS_JS = ROOT / "plugins" / "public_forms" / "static" / "js" / "conditions.js"

FIELDS = [
    {"stable_id": "n", "type": "integer"},
    {"stable_id": "x", "type": "decimal"},
    {"stable_id": "d", "type": "date"},
    {"stable_id": "dt", "type": "datetime"},
    {"stable_id": "cb", "type": "checkbox"},
    {"stable_id": "yn", "type": "yes_no"},
    {"stable_id": "t", "type": "text"},
    {"stable_id": "em", "type": "email"},
    {"stable_id": "si", "type": "siret"},
    {"stable_id": "cv", "type": "civility"},
    {"stable_id": "dd", "type": "drop_down",
     "options": {"choices": ["A", "É", "1"], "allow_other": True}},
    {"stable_id": "md", "type": "multiple_drop_down", "options": {"choices": ["A", "B", "C"]}},
    {"stable_id": "ld", "type": "linked_drop_down",
     "options": {"choices": [{"primary": "P", "secondary": ["x"]}, {"primary": "Q"}]}},
    {"stable_id": "co", "type": "country"},
    {"stable_id": "dep", "type": "department"},
    {"stable_id": "reg", "type": "region"},
    {"stable_id": "com", "type": "commune"},
    {"stable_id": "ad", "type": "address"},
    {"stable_id": "ph", "type": "phone"},
    {"stable_id": "h", "type": "header_section", "options": {"level": 2}},
]  # fmt: skip

TYPICAL = [
    "18", "1 234,5", "-3,5", "1e3", "0x10", "2020-02-29", "2019-02-29", "01/05/2020",
    "2024-03-01T14:30", "01/03/2024 14h30", "732 829 320 00074", "madame", "M.", "A", " É ",
    "on", "NON", "oui", "fr", "FR", "69", "2a", "2A", "971", "84", "01", "69123", "2A004",
    "99001", "Jean@X.fr", ".5", "5.", "__other__", "P", "x", "Infinity", "NaN",
]  # fmt: skip

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
    st.sampled_from(TYPICAL),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8),
)
values = st.one_of(
    scalars,
    st.lists(scalars, max_size=3),
    st.fixed_dictionaries(
        {},
        optional={
            "primary": st.sampled_from(["P", "Q", "Z", ""]),
            "secondary": st.sampled_from(["x", "y", ""]),
            "insee_code": st.sampled_from(["69123", "2A004", "99001", "", "abc"]),
            "country": st.sampled_from(["FR", "fr", "DE", ""]),
            "city": st.just("Lyon"),
        },
    ),
)
FIELD_IDS = [f["stable_id"] for f in FIELDS] + ["ghost"]


@st.composite
def leaves(draw, fields: list[str] = FIELD_IDS) -> dict[str, Any]:
    stable_id = draw(st.sampled_from(fields))
    field = next((f for f in FIELDS if f["stable_id"] == stable_id), {"type": "text"})
    suited = list(get(field["type"]).condition_operators)
    operators = suited if suited else [*OPERATORS, "bogus"]
    op = draw(st.sampled_from(operators) | st.sampled_from([*OPERATORS, "bogus"]))
    node: dict[str, Any] = {"field": stable_id, "op": op}
    if draw(st.booleans()) or op not in ("empty", "not_empty"):
        node["value"] = draw(
            values | st.lists(st.sampled_from(["69", "84", "2A", "01"]), max_size=3)
        )
    return node


conditions = st.recursive(
    leaves() | st.sampled_from([None, {}, "x", {"foo": 1}]),
    lambda inner: st.dictionaries(
        st.sampled_from(["all", "any"]), st.lists(inner, max_size=3), min_size=1, max_size=1
    ),
    max_leaves=6,
)
answer_sets = st.dictionaries(st.sampled_from(FIELD_IDS[:-1]), values, max_size=len(FIELDS))


@st.composite
def forms(draw) -> list[dict[str, Any]]:
    chosen = draw(
        st.lists(
            st.sampled_from(FIELDS), min_size=1, max_size=8, unique_by=lambda f: f["stable_id"]
        )
    )
    form: list[dict[str, Any]] = []
    for field in chosen:
        field = dict(field)
        if form and draw(st.booleans()):
            field["condition"] = draw(leaves(fields=[f["stable_id"] for f in form]))
        form.append(field)
    return form


@st.composite
def cases(draw) -> dict[str, Any]:
    answers = draw(answer_sets)
    if draw(st.integers(0, 3)) == 0:
        form = draw(forms())
        return {"fields": form, "form": True, "answers": answers,
                "expected": sorted(visible_fields(form, answers))}  # fmt: skip
    condition = draw(conditions)
    return {"fields": FIELDS, "condition": condition, "answers": answers,
            "expected": evaluate(condition, answers, FIELDS)}  # fmt: skip


RUNNER = """
import { readFileSync } from "node:fs";
import api from "./conditions.mjs";
const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const geo = JSON.parse(readFileSync(process.argv[3], "utf8"));
const results = cases.map((c) => c.form
  ? [...api.visibleFields(c.fields, c.answers, { geo })].sort()
  : api.evaluate(c.condition, c.answers, c.fields, { geo }));
console.log(JSON.stringify(results));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_browser_agrees_with_the_server_on_generated_cases(tmp_path: Path) -> None:
    (tmp_path / "conditions.mjs").write_bytes(CONDITIONS_JS.read_bytes())
    (tmp_path / "run.mjs").write_text(RUNNER, encoding="utf-8")
    (tmp_path / "geo.json").write_text(json.dumps(client_geo()), encoding="utf-8")

    @settings(
        max_examples=20,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(batch=st.lists(cases(), min_size=1, max_size=60))
    def agree(batch: list[dict[str, Any]]) -> None:
        (tmp_path / "cases.json").write_text(json.dumps(batch), encoding="utf-8")
        result = subprocess.run(
            ["node", "run.mjs", "cases.json", "geo.json"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        browser = json.loads(result.stdout)
        for case, answer in zip(batch, browser, strict=True):
            assert answer == case["expected"], json.dumps(case, ensure_ascii=False)

    agree()
