"""The content decides what a file is; its name and declared type never let it in."""

import io
import zipfile

import pytest

from plugins.attachments.errors import UploadRefused
from plugins.attachments.sniffing import Family, accept_attribute, classify

from .conftest import EICAR, EXECUTABLE, HTML, PDF, PNG


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("_rels/.rels", "<Relationships/>")
        archive.writestr("word/document.xml", "<document/>")
    return buffer.getvalue()


def test_a_pdf_is_a_document():
    verdict = classify(PDF, "attestation.pdf")
    assert (verdict.mime, verdict.family, verdict.extension) == (
        "application/pdf",
        "document",
        ".pdf",
    )


def test_a_word_file_is_recognised_from_inside_its_zip_container():
    assert classify(docx(), "lettre.docx").family == Family.document


def test_an_executable_renamed_pdf_is_refused():
    with pytest.raises(UploadRefused) as refused:
        classify(EXECUTABLE, "facture.pdf")
    assert "facture.pdf" in str(refused.value.message)


def test_html_posing_as_an_image_is_refused():
    with pytest.raises(UploadRefused):
        classify(HTML, "photo.png")


def test_svg_is_refused_as_it_may_carry_scripts():
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'
    with pytest.raises(UploadRefused):
        classify(svg, "logo.svg")


def test_plain_text_named_as_a_program_is_refused():
    with pytest.raises(UploadRefused) as refused:
        classify(b"hello, this is only text\n", "run.bat")
    assert ".bat" in str(refused.value.message)


def test_a_real_image_under_a_document_name_is_refused():
    with pytest.raises(UploadRefused) as refused:
        classify(PNG, "scan.pdf")
    assert "image/png" in str(refused.value.message)


def test_plain_text_named_csv_is_a_spreadsheet():
    assert classify(b"nom;age\nLea;12\n", "liste.csv").family == Family.spreadsheet


def test_a_family_the_field_does_not_allow_is_refused_with_the_allowed_ones():
    with pytest.raises(UploadRefused) as refused:
        classify(PDF, "plan.pdf", allowed={Family.image})
    assert "images" in str(refused.value.message)


def test_a_file_without_extension_takes_the_canonical_one():
    assert classify(PNG, "capture").extension == ".png"


def test_the_eicar_test_file_is_text_so_only_the_antivirus_can_stop_it():
    assert classify(EICAR, "eicar.txt").family == Family.document


def test_the_accept_attribute_lists_the_extensions_of_the_families():
    accept = accept_attribute({Family.image})
    assert ".png" in accept and ".jpg" in accept and ".pdf" not in accept
