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
