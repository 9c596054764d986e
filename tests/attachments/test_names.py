"""Uploaded names are cleaned for display and sent back safely."""

from plugins.attachments.names import content_disposition, normalise_name, split_extension


def test_directory_parts_are_dropped_whatever_the_separator():
    assert normalise_name("../../etc/passwd.txt") == "passwd.txt"
    assert normalise_name("C:\\Users\\Léa\\Documents\\facture.pdf") == "facture.pdf"


def test_control_and_bidirectional_characters_are_removed():
    assert normalise_name("fac\x00ture\r\n.pdf") == "facture.pdf"
    # U+202E would show "invoice\u202egpj.exe" as "invoiceexe.jpg"
    assert normalise_name("invoice\u202egpj.exe") == "invoicegpj.exe"


def test_hidden_file_dots_and_trailing_dots_are_removed():
    assert normalise_name(".htaccess") == "htaccess"
    assert normalise_name("rapport.pdf. . ") == "rapport.pdf"


def test_the_length_is_bounded_and_the_extension_kept():
    name = normalise_name("a" * 500 + ".pdf")
    assert len(name) == 180 and name.endswith("a.pdf")


def test_a_name_without_extension_gets_the_one_of_its_content():
    assert normalise_name("scan", ".pdf") == "scan.pdf"
    assert normalise_name("", ".png") == "document.png"
    assert normalise_name("../", ".png") == "document.png"


def test_extensions_are_split_lowercased():
    assert split_extension("Photo.JPG") == ("Photo", ".jpg")
    assert split_extension("no extension") == ("no extension", "")
    assert split_extension("a.b c") == ("a.b c", "")


def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name():
    value = content_disposition('Relevé "final"; été.pdf')
    assert value.startswith('attachment; filename="Releve _final__ ete.pdf"')
    assert "filename*=UTF-8''Relev%C3%A9%20%22final%22%3B%20%C3%A9t%C3%A9.pdf" in value
    assert content_disposition("plan.png", inline=True).startswith("inline;")
