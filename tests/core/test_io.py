"""The write chokepoint: refuses dataset folders, writes atomically, leaves nothing half-written."""

from __future__ import annotations

import json

import pytest

from core import io, paths
from core.errors import WriteError


@pytest.fixture
def dataset(tmp_path):
    d = tmp_path / "data"
    (d / "a").mkdir(parents=True)
    paths.protect(d)
    return d


@pytest.mark.parametrize("write", [
    lambda p: io.write_json(p / "x.json", {}),
    lambda p: io.write_text(p / "a" / "x.csv", "x"),
    lambda p: io.write_bytes(p / "x.bin", b"x"),
    lambda p: io.make_dirs(p / "runs" / "r1"),
    lambda p: io.remove_tree(p / "a"),
    lambda p: io.move(p / "a", p.parent / "b"),
])
def test_every_kind_of_write_inside_a_dataset_is_refused(dataset, write):
    before = sorted(x.name for x in dataset.rglob("*"))
    with pytest.raises(WriteError, match="inside the dataset folder.*never writes"):
        write(dataset)
    assert sorted(x.name for x in dataset.rglob("*")) == before


def test_links_into_the_dataset_are_refused_too(dataset, tmp_path):
    (tmp_path / "alias").symlink_to(dataset)
    with pytest.raises(WriteError):
        io.write_text(tmp_path / "alias" / "x.txt", "x")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "settings.json"
    io.write_json(target, {"v": 1})
    with pytest.raises(ZeroDivisionError), io.open_atomic(target) as fh:
        fh.write('{"v": 2')
        raise ZeroDivisionError
    assert json.loads(target.read_text()) == {"v": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_leftovers_of_killed_writes_are_removed(tmp_path):
    (tmp_path / ".foveal-tmp-123-project.json").write_text("half")
    (tmp_path / ".project.json.abc.tmp").write_text("half")  # the older writer's name
    (tmp_path / "project.json").write_text("{}")
    assert sorted(io.remove_leftovers(tmp_path)) == [".foveal-tmp-123-project.json", ".project.json.abc.tmp"]
    assert [p.name for p in tmp_path.iterdir()] == ["project.json"]


def test_default_run_folder_is_never_inside_the_current_dataset(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(dataset / "a")
    inside = paths.default_run_dir("MobileNetV2")
    assert not paths.is_inside(inside, dataset) and paths.is_inside(inside, tmp_path / "xdg")
    monkeypatch.chdir(tmp_path)
    assert paths.default_run_dir("MobileNetV2").parent == tmp_path / "foveal-runs"


def test_os_errors_become_messages_naming_the_folder(tmp_path):
    import errno

    full = io.write_error(OSError(errno.ENOSPC, "No space left on device"), tmp_path / "model.keras", 12_500_000)
    assert str(full) == f"Not enough space in {tmp_path} (needs about 12 MB). Free some space there or choose " \
                        "another folder."
    denied = io.write_error(OSError(errno.EACCES, "Permission denied"), tmp_path / "x")
    assert str(denied).startswith(f"Cannot write to {tmp_path}: permission denied.")


def test_a_run_folder_appears_with_its_settings_already_inside(tmp_path, dataset):
    from core.training.config import TrainConfig
    from core.training.runfolder import prepare_run_dir

    (tmp_path / "out").mkdir()  # an empty folder the user chose is used, a full one never
    config = TrainConfig(data_dir=str(tmp_path / "elsewhere"), out_dir=str(tmp_path / "out"))
    first = prepare_run_dir(config)
    second = prepare_run_dir(config)
    assert (first, second) == (tmp_path / "out", tmp_path / "out-2")
    for run in (first, second):
        assert json.loads((run / "run_config.json").read_text())["out_dir"] == str(tmp_path / "out")
        assert (run / ".running").is_file()
    assert not [x.name for x in tmp_path.iterdir() if x.name.startswith(".")]  # no staging folder left
    with pytest.raises(WriteError, match="inside the dataset folder"):
        prepare_run_dir(TrainConfig(data_dir=str(dataset), out_dir=str(dataset / "run")))
    assert not (dataset / "run").exists() and not [x for x in dataset.iterdir() if x.name.startswith(".")]
