"""A full disk, and a folder that cannot be written, are user errors with a message, and leave no half-written
file: a small tmpfs is mounted as the output (the tests run as root in CI; elsewhere they skip with a reason)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.factory import real_weights
from tests.reliability.conftest import run_cli


def _mount_tmpfs(mount: Path, options: str) -> None:
    """Mount a tmpfs there, or skip the test: only root can, and root writes anywhere else."""
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip(f"needs root to mount a tmpfs ({options}) as a small or read-only disk")


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB file system: room for run.json, not for a model."""
    _mount_tmpfs(tmp_path / "small", "size=2m")
    yield tmp_path / "small"
    subprocess.run(["umount", "-l", str(tmp_path / "small")], check=False)


@pytest.fixture
def read_only_folder(tmp_path):
    _mount_tmpfs(tmp_path / "ro", "ro,size=1m")
    yield tmp_path / "ro"
    subprocess.run(["umount", "-l", str(tmp_path / "ro")], check=False)


def test_training_onto_a_full_disk_says_so_and_leaves_no_model_without_record(small_disk, trained_run):
    out = small_disk / "run"
    o = run_cli("train", trained_run.parent / "data", "--weights", real_weights(), "--epochs", "1",
                "--image-size", "32", "--out", out)
    assert o.rc == 2 and o.traceback is None, o.traceback or o.err
    assert "Not enough space in" in o.err and str(small_disk) in o.err, o.err
    # A run that learned nothing leaves nothing (the folder goes); one that had begun keeps no model without record.
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert "model.keras" not in left and "run.json" not in left and not any(n.startswith(".") for n in left), left


@pytest.mark.parametrize("command", ["evaluate", "report", "export", "predict"])
def test_writing_results_onto_a_full_disk_says_so(small_disk, trained_run, command):
    with open(small_disk / "filler", "wb", buffering=0) as fh:  # fill it to the last block
        try:
            while True:
                fh.write(b"\0" * 4096)
        except OSError:
            pass
    data = trained_run.parent / "data"
    args = {"evaluate": ("evaluate", trained_run, data, "--out", small_disk / "eval"),
            "report": ("report", trained_run, "--out", small_disk / "report"),
            "export": ("export", trained_run, "--format", "keras", "--out", small_disk / "export"),
            "predict": ("predict", trained_run, data, "--csv", small_disk / "p.csv")}[command]
    o = run_cli(*args)
    assert o.rc == 2 and o.traceback is None, o.traceback or o.err
    assert "Not enough space in" in o.err, o.err
    left = [p.name for p in small_disk.rglob("*") if p.is_file() and p.name != "filler"]
    assert not [n for n in left if n.startswith(".foveal-tmp") or n.endswith((".tmp", ".writing"))], left


def test_an_unwritable_folder_says_so(read_only_folder, trained_run):
    o = run_cli("train", trained_run.parent / "data", "--weights", real_weights(), "--epochs", "1", "--out",
                read_only_folder / "run")
    assert o.rc == 2 and o.traceback is None, o.traceback or o.err
    assert f"Cannot write to {read_only_folder}" in o.err, o.err


def test_the_chokepoint_turns_enospc_into_a_message(small_disk):
    from foveal.core.errors import WriteError
    from foveal.core.io import write_bytes

    with pytest.raises(WriteError, match=f"Not enough space in {small_disk}"):
        write_bytes(small_disk / "big.bin", b"\0" * (3 * 1024 * 1024))
    assert list(Path(small_disk).iterdir()) == []
