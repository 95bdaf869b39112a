"""Outputs are checked before the work, and standard output is a result channel: into a full device every
command ends with a message and exit code 2 (never a traceback), and with ``--csv -`` it carries the CSV alone,
so that a program can read it."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import factory
from tests.reliability.conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return factory.make_class_folder(tmp_path_factory.mktemp("stdout") / "data", {"a": 6, "b": 6}, size=24)


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (Linux)")
@pytest.mark.parametrize("args", [["scan", "{data}"], ["scan", "{data}", "--json"], ["split", "{data}"],
                                  ["split", "{data}", "--json"], ["split", "{data}", "--csv", "-"],
                                  ["backbones"], ["backbones", "--json"], ["--version"]],
                         ids=lambda a: " ".join(a).replace("{data}", "DATA"))
def test_every_command_into_a_full_device_says_so(args, data):
    argv = [a.replace("{data}", str(data)) for a in args]
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "foveal.core.cli", *argv], stdout=full, stderr=subprocess.PIPE,
                              text=True, cwd=ROOT, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == 2 and "Not enough space for standard output" in done.stderr, done.stderr


def test_split_csv_to_standard_output_is_the_csv_alone(data):
    for extra in ([], ["--json"]):
        outcome = run_cli("split", data, "--csv", "-", *extra)
        assert outcome.rc == 0, outcome.err
        rows = list(csv.DictReader(io.StringIO(outcome.out)))
        assert len(rows) == 12 and set(rows[0]) == {"file", "class", "split"}, outcome.out[:300]
        assert "train" in outcome.err  # the preview still reaches the person, on the terminal


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_compare_refuses_an_output_that_is_no_regular_file_before_the_work(data, tmp_path):
    """A comparison takes minutes: an output it cannot write is said before it starts, not after."""
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    outcome = run_cli("compare", data, "--out", pipe, "--backbones", "MobileNetV2")
    assert outcome.rc == 2 and "not a regular file" in outcome.err, outcome.err
    assert "Comparing" not in outcome.err and pipe.is_fifo()
