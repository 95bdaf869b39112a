"""--version, --licenses and the bundled data found through the installed package, not the current folder."""

from __future__ import annotations

from foveal.core.cli import main as cli_main


def test_version_names_foveal_and_its_libraries(capsys):
    import foveal.core

    assert cli_main(["--version"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Foveal {foveal.core.__version__}\n")
    assert "tensorflow 2." in out and "PySide6-Essentials" in out


def test_licenses_list_every_component_with_qt_under_the_lgpl(capsys):
    assert cli_main(["--licenses"]) == 0
    out = capsys.readouterr().out
    rows = {line.split()[0].lower().replace("_", "-"): line for line in out.splitlines()[2:] if line.strip()}
    assert "LGPL" in rows["pyside6-essentials"] and "LGPL" in rows["shiboken6"]
    assert {"tensorflow", "keras", "numpy", "pillow"} <= set(rows)
    assert len(rows) > 40


def test_bundled_data_is_found_through_the_package(tmp_path, monkeypatch):
    from foveal.core.resources import icon_paths, resource_path, samples_dir

    monkeypatch.chdir(tmp_path)  # wherever the user is
    assert sorted(p.name for p in samples_dir().iterdir()) == ["budding", "elongated", "round"]
    assert [p.stem for p in icon_paths()][:2] == ["foveal-16", "foveal-24"]
    assert "GNU LESSER GENERAL PUBLIC LICENSE" in resource_path("licenses", "LGPL-3.0.txt").read_text()
