"""The bundled French administrative divisions and the script that builds them."""

import json
from pathlib import Path

import pytest

from app.data import build_geo
from app.data.geo import DATA_FILE, department_of_commune, reference


def test_the_reference_holds_every_division() -> None:
    geo = reference()
    assert len(geo.regions) == 26
    assert len(geo.departments) == 109
    assert len(geo.communes) > 34_000
    assert geo.departments["69"].region == "84"
    assert geo.communes["69123"].name == "Lyon"
    assert "69003" in geo.communes["69123"].postcodes


def test_it_is_loaded_once() -> None:
    assert reference() is reference()


def test_every_commune_lies_in_a_known_department_given_by_its_code() -> None:
    geo = reference()
    for code in geo.communes:
        assert department_of_commune(code) in geo.departments, code


def test_communes_by_postcode() -> None:
    names = {commune.name for commune in reference().communes_by_postcode["69003"]}
    assert names == {"Lyon", "Lyon 3e Arrondissement"}


def test_the_bundled_file_stays_small() -> None:
    assert DATA_FILE.stat().st_size < 2_000_000


SOURCE = build_geo.SOURCE


@pytest.mark.skipif(not (SOURCE / "data").is_dir(), reason="npm packages are not installed")
def test_the_bundled_file_is_what_the_npm_package_gives() -> None:
    assert build_geo.build() == json.loads(DATA_FILE.read_text(encoding="utf-8"))


def test_the_build_refuses_data_breaking_the_department_rule(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (tmp_path / "package.json").write_text('{"version": "0.0.0"}')
    (data / "regions.json").write_text(json.dumps([{"code": "84", "nom": "AURA"}]))
    (data / "departements.json").write_text(
        json.dumps([{"code": "69", "nom": "Rhône", "region": "84"}])
    )
    commune = {"code": "01001", "nom": "X", "departement": "69", "type": "commune-actuelle"}
    (data / "communes.json").write_text(json.dumps([commune]))
    with pytest.raises(ValueError, match="code → department rule"):
        build_geo.build(tmp_path)
    commune["code"] = "69001"
    (data / "communes.json").write_text(json.dumps([commune]))
    assert build_geo.build(tmp_path)["communes"] == {"69001": ["X", ""]}
