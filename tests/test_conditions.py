"""The condition language: the shared vectors (also run against conditions.js by
``node --test tests/js/``), visibility on real definitions, and administrators' checks."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from app.conditions import KINDS, OPERATORS, client_geo, evaluate, validate, visible_fields
from app.fields import all_types, get, validate_answers

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "tests" / "vectors" / "conditions.json").read_text(encoding="utf-8"))
CONDITIONS_JS = ROOT / "plugins" / "public_forms" / "static" / "js" / "conditions.js"


@pytest.mark.parametrize("vector", VECTORS, ids=[vector["name"] for vector in VECTORS])
def test_vector(vector: dict[str, Any]) -> None:
    if vector.get("form"):
        assert sorted(visible_fields(vector["fields"], vector["answers"])) == vector["expected"]
    else:
        held = evaluate(
            vector["condition"], vector["answers"], vector["fields"], visible=vector.get("visible")
        )
        assert held is vector["expected"]


def _leaves(node: Any) -> list[dict[str, Any]]:
    if isinstance(node, dict):
        if "field" in node:
            return [node]
        return [leaf for key in ("all", "any") for leaf in _leaves(node.get(key))]
    if isinstance(node, list):
        return [leaf for item in node for leaf in _leaves(item)]
    return []


def test_the_vectors_try_every_operator_on_every_kind_of_value() -> None:
    tried: dict[str, set[str]] = {}
    for vector in VECTORS:
        types = {field["stable_id"]: field["type"] for field in vector["fields"]}
        for leaf in _leaves(vector.get("condition")):
            if leaf["field"] in types:
                kind = get(types[leaf["field"]]).condition_kind
                tried.setdefault(kind, set()).add(leaf["op"])
    for kind, operators in KINDS.items():
        expected = {*operators, "empty", "not_empty"} if kind != "checkbox" else set(operators)
        assert expected <= tried.get(kind, set()), kind
    assert set(OPERATORS) <= set().union(*tried.values())


def test_every_type_with_an_answer_has_a_kind_and_valid_operators() -> None:
    for field_type in all_types():
        if not field_type.has_value:
            assert field_type.condition_kind is None
            assert field_type.condition_operators == ()
            continue
        assert field_type.condition_kind in KINDS, field_type.name
        allowed = {*KINDS[field_type.condition_kind], "empty", "not_empty"}
        assert set(field_type.condition_operators) <= allowed, field_type.name


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_browser_reads_each_type_as_the_server_does(tmp_path: Path) -> None:
    module = tmp_path / "conditions.mjs"
    module.write_bytes(CONDITIONS_JS.read_bytes())
    script = (
        f"import('{module.as_uri()}').then(m => "
        "console.log(JSON.stringify({types: m.TYPE_KINDS, kinds: m.KINDS, ops: m.OPERATORS})))"
    )
    result = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    browser = json.loads(result.stdout)
    assert browser["types"] == {t.name: t.condition_kind for t in all_types()}
    assert browser["kinds"] == {kind: list(ops) for kind, ops in KINDS.items()}
    assert browser["ops"] == list(OPERATORS)


def test_client_geo_maps_departments_to_regions() -> None:
    geo = client_geo()["departments"]
    assert geo["69"] == "84"
    assert geo["2A"] == "94"
    assert geo["971"] == "01"
    assert len(geo) == 109


# -- visibility on definitions the way the app holds them ------------------------------------


class Row:
    """Stands for a FieldDefinition row: attributes, a database id, a parent_id."""

    def __init__(self, id: int, stable_id: str, type: str, **extra: Any) -> None:
        self.id = id
        self.stable_id = stable_id
        self.type = type
        self.label = extra.pop("label", stable_id)
        self.help = None
        self.required = extra.pop("required", False)
        self.private = extra.pop("private", False)
        self.options = extra.pop("options", {})
        self.condition = extra.pop("condition", None)
        self.parent_id = extra.pop("parent_id", None)
        self.parent = None
        self.children: list[Row] = []
        assert not extra


def test_visibility_reads_definition_rows_with_parent_ids() -> None:
    rows = [
        Row(10, "nb", "integer"),
        Row(11, "enfants", "repetition", condition={"field": "nb", "op": "gt", "value": 0}),
        Row(12, "prenom", "text", parent_id=11),
    ]
    assert visible_fields(rows, {"nb": 2}) == {"nb", "enfants", "prenom"}
    assert visible_fields(rows, {"nb": 0}) == {"nb"}


def test_hidden_fields_are_neither_validated_nor_kept() -> None:
    fields = [
        {"stable_id": "allergie", "type": "yes_no", "required": True},
        {
            "stable_id": "detail",
            "type": "integer",
            "required": True,
            "condition": {"field": "allergie", "op": "eq", "value": True},
        },
    ]
    cleaned, errors = validate_answers(fields, {"allergie": "non", "detail": "pas un nombre"})
    assert (cleaned, errors) == ({"allergie": False}, {})
    cleaned, errors = validate_answers(fields, {"allergie": "oui", "detail": "pas un nombre"})
    assert cleaned == {"allergie": True}
    assert list(errors) == ["detail"]


def test_stored_answers_read_as_the_raw_ones() -> None:
    """Cleaning (E.164, ISO dates, numbers) keeps conditions' results: the browser sees raw
    answers, routing and eligibility see stored ones."""
    fields = [
        {"stable_id": "montant", "type": "decimal"},
        {"stable_id": "date", "type": "date"},
        {"stable_id": "siret", "type": "siret"},
        {"stable_id": "civ", "type": "civility"},
        {"stable_id": "mail", "type": "email"},
        {"stable_id": "dept", "type": "department"},
        {"stable_id": "ok", "type": "yes_no"},
    ]
    raw = {
        "montant": "1 500,50",
        "date": "14/07/2024",
        "siret": "732 829 320 00074",
        "civ": "madame",
        "mail": " Jeanne@Exemple.FR ",
        "dept": "2a",
        "ok": "oui",
    }
    cleaned, errors = validate_answers(fields, raw)
    assert errors == {}
    rule = {
        "all": [
            {"field": "montant", "op": "gt", "value": 1500},
            {"field": "date", "op": "eq", "value": "2024-07-14"},
            {"field": "siret", "op": "eq", "value": "73282932000074"},
            {"field": "civ", "op": "eq", "value": "Mme"},
            {"field": "mail", "op": "eq", "value": "jeanne@exemple.fr"},
            {"field": "dept", "op": "in_region", "value": "94"},
            {"field": "ok", "op": "eq", "value": True},
        ]
    }
    assert evaluate(rule, raw, fields) is True
    assert evaluate(rule, cleaned, fields) is True


# -- checks for administrators -------------------------------------------------------------

FORM = [
    {"stable_id": "age", "type": "integer", "label": "Âge"},
    {"stable_id": "titre", "type": "header_section", "label": "Section"},
    {
        "stable_id": "cat",
        "type": "drop_down",
        "label": "Catégorie",
        "options": {"choices": ["A", "B"], "allow_other": True},
    },
    {
        "stable_id": "jours",
        "type": "multiple_drop_down",
        "label": "Jours",
        "options": {"choices": ["Lundi"]},
    },
    {"stable_id": "dept", "type": "department", "label": "Département"},
    {"stable_id": "adresse", "type": "address", "label": "Adresse"},
    {"stable_id": "note", "type": "text", "label": "Note interne", "private": True},
    {"stable_id": "enfants", "type": "repetition", "label": "Enfants"},
    {"stable_id": "prenom", "type": "text", "label": "Prénom", "parent": "enfants"},
    {"stable_id": "fin", "type": "text", "label": "Fin"},
]


def field(stable_id: str) -> dict[str, Any]:
    return next(item for item in FORM if item["stable_id"] == stable_id)


def problems(condition: Any, owner: str | None = "fin") -> list[str]:
    return validate(condition, field(owner) if owner else None, FORM)


def test_a_sound_condition_has_no_problem() -> None:
    condition = {
        "any": [
            {"field": "age", "op": "ge", "value": 18},
            {"field": "cat", "op": "eq", "value": "__other__"},
            {"field": "jours", "op": "contains", "value": "Lundi"},
            {"field": "dept", "op": "in_region", "value": ["84", "11"]},
            {"field": "adresse", "op": "not_in_department", "value": "2A"},
            {"field": "adresse", "op": "empty"},
        ]
    }
    assert problems(condition) == []
    assert problems(None) == []


def test_unknown_field() -> None:
    assert problems({"field": "ghost", "op": "empty"}) == [
        "The condition uses a field that does not exist: ghost."
    ]


def test_a_field_cannot_depend_on_itself() -> None:
    assert problems({"field": "fin", "op": "empty"}) == [
        "A field's condition cannot use the field itself."
    ]


def test_a_condition_only_looks_backwards() -> None:
    assert problems({"field": "fin", "op": "empty"}, owner="age") == [
        "“Fin” comes after this field: a condition can only use fields placed before it."
    ]


def test_a_block_child_looks_before_its_block() -> None:
    assert problems({"field": "age", "op": "empty"}, owner="prenom") == []
    assert problems({"field": "fin", "op": "empty"}, owner="prenom") != []


def test_routing_rules_may_use_any_field() -> None:
    assert problems({"field": "fin", "op": "not_empty"}, owner=None) == []


def test_fields_inside_blocks_cannot_be_tested() -> None:
    assert problems({"field": "prenom", "op": "empty"}) == [
        "“Prénom” is inside a repeated block: conditions cannot use it."
    ]


def test_layout_fields_cannot_be_tested() -> None:
    assert problems({"field": "titre", "op": "empty"}) == [
        "“Section” holds no answer: conditions cannot use it."
    ]


def test_private_annotations_stay_out_of_the_applicants_form() -> None:
    assert problems({"field": "note", "op": "empty"}) == [
        "“Note interne” is a private annotation: the form's conditions cannot use it."
    ]
    assert problems({"field": "note", "op": "empty"}, owner=None) == [
        "“Note interne” is a private annotation: the form's conditions cannot use it."
    ]


def test_annotations_conditions_use_annotations_only() -> None:
    form = [*FORM, {"stable_id": "suivi", "type": "yes_no", "label": "Suivi", "private": True}]
    annotation = form[-1]
    assert validate({"field": "note", "op": "not_empty"}, annotation, form) == []
    assert validate({"field": "age", "op": "not_empty"}, annotation, form) == [
        "“Âge” belongs to the applicant's form: an annotation's condition can only use annotations."
    ]


def test_operator_must_suit_the_type() -> None:
    assert problems({"field": "cat", "op": "lt", "value": "A"}) == [
        "“Catégorie” cannot be tested with “is less than”."
    ]
    assert problems({"field": "age", "op": "between", "value": 1}) == [
        "Unknown operator “between”."
    ]


DEPARTMENTS_WANTED = "Give one or more department codes, for example 69 or 2A."


@pytest.mark.parametrize(
    ("leaf", "message"),
    [
        ({"field": "age", "op": "eq", "value": "18"}, "Compare “Âge” with a number."),
        ({"field": "age", "op": "eq", "value": True}, "Compare “Âge” with a number."),
        ({"field": "cat", "op": "eq", "value": "C"},
         "Compare “Catégorie” with one of its choices."),
        ({"field": "jours", "op": "contains", "value": "Mardi"},
         "Compare “Jours” with one of its choices."),
        ({"field": "dept", "op": "eq", "value": "99"},
         "Give a department code, for example 69 or 2A."),
        ({"field": "dept", "op": "in_region", "value": []},
         "Give one or more region codes, for example 84."),
        ({"field": "adresse", "op": "in_department", "value": ["69", "100"]}, DEPARTMENTS_WANTED),
        ({"field": "age", "op": "empty", "value": 3},
         "“is not answered” compares with no value: remove it."),
    ],
)  # fmt: skip
def test_values_of_the_wrong_kind(leaf: dict[str, Any], message: str) -> None:
    assert problems(leaf) == [message]


@pytest.mark.parametrize(
    "condition",
    [
        "age > 18",
        {"all": []},
        {"all": {"field": "age", "op": "empty"}},
        {"all": [{"field": "age", "op": "empty"}], "any": []},
        {"field": "age"},
        {"field": "age", "op": "empty", "extra": 1},
    ],
)
def test_malformed_conditions_are_reported(condition: Any) -> None:
    assert len(problems(condition)) == 1


# -- the browser and the server agree beyond the vectors -----------------------------------

FUZZ_FIELDS = [
    {"stable_id": "n", "type": "integer"},
    {"stable_id": "d", "type": "date"},
    {"stable_id": "dt", "type": "datetime"},
    {"stable_id": "cb", "type": "checkbox"},
    {"stable_id": "yn", "type": "yes_no"},
    {"stable_id": "t", "type": "text"},
    {"stable_id": "em", "type": "email"},
    {"stable_id": "si", "type": "siret"},
    {"stable_id": "cv", "type": "civility"},
    {"stable_id": "dd", "type": "drop_down",
     "options": {"choices": ["A", "É"], "allow_other": True}},
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
FUZZ_VALUES = [
    None, "", " ", 0, 1, 18, -3.5, True, False, "18", "1 234,5", "abc", "on", "NON", "2020-02-29",
    "2019-02-29", "01/05/2020", "2024-03-01T14:30", "01/03/2024 14h30", "732 829 320 00074",
    "madame", "M.", "A", " É ", "Z", ["A", "C"], ["A", "Z"], [], [""], "fr", "FRA", "69", "2a",
    "971", "99", "84", "01", "69123", "2A004", "99001", {"primary": "P", "secondary": "x"},
    {"primary": "Q"}, {"primary": "P", "secondary": "z"}, {}, {"country": "FR"},
    {"street": "1 rue", "postcode": "69002", "city": "Lyon", "insee_code": "69123"},
    {"street": "1 rue", "city": "Berlin", "country": "de"}, [{}], "Jean@X.fr", ".5", "5.",
    "ABC", "b",
]  # fmt: skip


def _fuzz_cases(seed: int, count: int) -> list[dict[str, Any]]:
    import random

    rng = random.Random(seed)

    def leaf() -> dict[str, Any]:
        field = rng.choice([*FUZZ_FIELDS, {"stable_id": "ghost", "type": "text"}])
        suited = get(field["type"]).condition_operators
        operators = suited if suited and rng.random() < 0.8 else [*OPERATORS, "bogus"]
        node = {"field": field["stable_id"], "op": rng.choice(operators)}
        if rng.random() < 0.9:
            node["value"] = rng.choice(FUZZ_VALUES)
        return node

    def node(depth: int = 0) -> Any:
        draw = rng.random()
        if depth < 3 and draw < 0.3:
            return {rng.choice(["all", "any"]): [node(depth + 1) for _ in range(rng.randint(0, 3))]}
        return leaf() if draw > 0.35 else rng.choice([None, {}, "x", {"foo": 1}])

    cases = []
    for index in range(count):
        answers = {
            f["stable_id"]: rng.choice(FUZZ_VALUES) for f in FUZZ_FIELDS if rng.random() < 0.7
        }
        if index % 4:
            condition = node()
            cases.append({"fields": FUZZ_FIELDS, "condition": condition, "answers": answers,
                          "expected": evaluate(condition, answers, FUZZ_FIELDS)})  # fmt: skip
            continue
        form = []
        for field in rng.sample(FUZZ_FIELDS, 8):
            field = dict(field)
            if form and rng.random() < 0.7:
                field["condition"] = {**leaf(), "field": rng.choice(form)["stable_id"]}
            form.append(field)
        cases.append({"fields": form, "form": True, "answers": answers,
                      "expected": sorted(visible_fields(form, answers))})  # fmt: skip
    return cases


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed")
def test_the_browser_agrees_with_the_server_on_random_conditions(tmp_path: Path) -> None:
    cases = _fuzz_cases(seed=2026, count=2_000)
    assert 0.05 < sum(case["expected"] is True for case in cases) / len(cases) < 0.95
    (tmp_path / "cases.json").write_text(json.dumps(cases), encoding="utf-8")
    (tmp_path / "conditions.mjs").write_bytes(CONDITIONS_JS.read_bytes())
    (tmp_path / "run.mjs").write_text(
        """
        import { readFileSync } from "node:fs";
        import api from "./conditions.mjs";
        const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
        const geo = JSON.parse(readFileSync(process.argv[3], "utf8"));
        const results = cases.map((c) => c.form
          ? [...api.visibleFields(c.fields, c.answers, { geo })].sort()
          : api.evaluate(c.condition, c.answers, c.fields, { geo }));
        console.log(JSON.stringify(results));
        """,
        encoding="utf-8",
    )
    (tmp_path / "geo.json").write_text(json.dumps(client_geo()), encoding="utf-8")
    result = subprocess.run(
        [
            "node",
            str(tmp_path / "run.mjs"),
            str(tmp_path / "cases.json"),
            str(tmp_path / "geo.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    browser = json.loads(result.stdout)
    disagreements = [
        case for case, answer in zip(cases, browser, strict=True) if answer != case["expected"]
    ]
    assert not disagreements, json.dumps(disagreements[:3], ensure_ascii=False)
