"""The label palette: every colour is named and readable (WCAG AA contrast)."""

import pytest

from app.services import procedure_labels


def luminance(hex_colour: str) -> float:
    channels = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(first: str, second: str) -> float:
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("colour", procedure_labels.PALETTE, ids=lambda c: c.key)
def test_a_label_text_reaches_a_contrast_of_4_5_to_1_on_its_colour(colour):
    assert contrast(colour.background, colour.text) >= 4.5


def test_colours_have_distinct_keys_and_names(app):
    with app.test_request_context():
        assert len({c.key for c in procedure_labels.PALETTE}) == len(procedure_labels.PALETTE)
        assert len({str(c.name) for c in procedure_labels.PALETTE}) == len(procedure_labels.PALETTE)


def test_a_colour_no_longer_in_the_palette_shows_as_grey():
    assert procedure_labels.colour("fuchsia") is procedure_labels.DEFAULT_COLOUR
    assert procedure_labels.colour(None).key == "gray"
    assert procedure_labels.colour("teal").key == "teal"
