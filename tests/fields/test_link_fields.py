"""Links to another dossier and attachments: shapes here, existence through hooks."""

import pytest
from field_helpers import clean, error_of, options_error
from marshmallow import ValidationError

from app.fields import CleanContext, get
from app.fields.contrib.links import FILE_FAMILIES


def test_dossier_link_is_a_positive_number() -> None:
    assert clean("dossier_link", 1234) == 1234
    assert clean("dossier_link", " 1234 ") == 1234
    for value in (0, -3, "12a", 1.5, True, 2**63):
        assert error_of("dossier_link", value) == ["Enter a dossier number."]


def test_dossier_link_existence_is_asked_to_the_service() -> None:
    asked: list[int] = []

    def exists(number: int) -> bool:
        asked.append(number)
        return number == 42

    context = CleanContext(dossier_exists=exists)
    assert clean("dossier_link", "42", context) == 42
    assert error_of("dossier_link", 43, context) == ["No dossier has this number."]
    assert asked == [42, 43]


def test_attachments_are_a_list_of_ids() -> None:
    assert clean("attachment", [3, "4", 3], max_files=5) == [3, 4]
    assert clean("attachment", 7) == [7]
    assert clean("attachment", []) is None
    assert error_of("attachment", ["abc"]) == ["These files are not valid: send them again."]
    assert error_of("attachment", [1, 2]) == ["Attach at most 1 file."]
    assert error_of("attachment", [1, 2, 3], max_files=2) == ["Attach at most 2 files."]


def test_attachment_ownership_is_checked_by_the_plugins_hook() -> None:
    def check(ids: list[int], spec) -> None:
        if 99 in ids:
            raise ValidationError(["This file is not yours."])

    context = CleanContext(check_attachments=check)
    assert clean("attachment", [1, 2], context, max_files=3) == [1, 2]
    assert error_of("attachment", [1, 99], context, max_files=3) == ["This file is not yours."]


def test_attachment_options() -> None:
    assert get("attachment").validate_options({}) == {
        "families": list(FILE_FAMILIES),
        "max_size_mb": 20,
        "max_files": 1,
    }
    assert get("attachment").validate_options({"families": ["image", "document"]})["families"] == [
        "image",
        "document",
    ]


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"families": []}, "families"),
        ({"families": ["executable"]}, "families"),
        ({"families": ["image", "image"]}, "families"),
        ({"max_size_mb": 0}, "max_size_mb"),
        ({"max_size_mb": 500}, "max_size_mb"),
        ({"max_files": 51}, "max_files"),
    ],
)
def test_attachment_options_are_checked(options, field) -> None:
    assert field in options_error("attachment", options)


def test_links_as_text() -> None:
    assert get("dossier_link").as_text(1234) == "1234"
    assert get("attachment").as_text([1, 2]) == "2 files"
    assert get("attachment").as_text([1]) == "1 file"
