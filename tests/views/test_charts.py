"""Server-side SVG charts (app/views/charts.py): accessible, self-contained, escaped."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from app.views import charts

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup) -> ET.Element:
    return ET.fromstring(str(markup))


@pytest.mark.parametrize(
    ("largest", "integer", "expected"),
    [
        (0, True, [0.0, 1.0]),
        (3, True, [0, 1, 2, 3]),
        (4, True, [0, 1, 2, 3, 4]),
        (47, True, [0, 10, 20, 30, 40, 50]),
        (1234, True, [0, 500, 1000, 1500]),
        (0.9, False, [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]),
    ],
)
def test_ticks_are_round_and_reach_the_largest_value(largest, integer, expected):
    assert charts.nice_ticks(largest, integer=integer) == expected


def test_a_bar_chart_is_a_named_and_described_image_with_its_axes():
    svg = charts.bar_chart(
        "c1",
        "Dossiers par mois",
        "De janvier à mars.",
        ["janv.", "févr.", "mars"],
        [charts.Series("Déposés", [4, None, 2]), charts.Series("Traités", [1, 3, 0])],
        x_label="Mois",
        y_label="Dossiers",
        value_format=str,
    )
    root = parse(svg)
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find(f"{SVG}title").get("id") == "c1-title"
    assert root.find(f"{SVG}title").text == "Dossiers par mois"
    assert root.find(f"{SVG}desc").text == "De janvier à mars."
    texts = [element.text for element in root.iter(f"{SVG}text")]
    assert {"janv.", "févr.", "mars", "Mois", "Dossiers", "Déposés", "Traités"} <= set(texts)
    assert {"0.0", "4.0"} <= set(texts)  # tick labels through value_format
    bars = [rect for rect in root.iter(f"{SVG}rect") if float(rect.get("height", 0)) > 0]
    assert len(bars) == 2 + 4  # two legend squares; no bar for None, an empty one for 0


def test_a_line_breaks_where_a_value_is_missing():
    svg = charts.line_chart(
        "c2",
        "Délai",
        "…",
        ["a", "b", "c", "d", "e"],
        [charts.Series("Médiane", [1, 2, None, 3, 4])],
        x_label="Mois",
        y_label="Jours",
        value_format=str,
    )
    root = parse(svg)
    assert len(list(root.iter(f"{SVG}polyline"))) == 2
    assert len(list(root.iter(f"{SVG}circle"))) == 4


def test_text_from_administrators_is_escaped():
    svg = charts.horizontal_bar_chart(
        "c3",
        'Titre <script>alert("x")</script>',
        "…",
        ['Démarche <img src=x onerror="alert(1)">'],
        [5],
        value_format=str,
    )
    assert "<script" not in str(svg) and "<img" not in str(svg)
    root = parse(svg)  # still well-formed XML
    assert root.find(f"{SVG}title").text == 'Titre <script>alert("x")</script>'


def test_charts_load_nothing_from_elsewhere():
    svg = str(
        charts.bar_chart(
            "c4",
            "t",
            "d",
            [str(n) for n in range(30)],
            [charts.Series("s", list(range(30)))],
            x_label="x",
            y_label="y",
            value_format=str,
        )
    )
    assert not re.search(r"\b(href|src)=", svg)
    assert svg.count("http") == 1  # the SVG namespace only
    labels = [t for t in re.findall(r">([^<>]+)</text>", svg) if t.isdigit()]
    assert len(labels) <= charts.MAX_X_LABELS + 7  # x labels thinned (plus y ticks)
