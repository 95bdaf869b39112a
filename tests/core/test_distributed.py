"""tf.distribute on this CPU: MirroredStrategy over two logical devices, and two workers on loopback ports.

Each test runs in fresh processes: logical devices and MultiWorkerMirroredStrategy must be set up before
TensorFlow starts its runtime, which the test process itself has long done.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests import factory
from tests.factory import real_weights

SCRIPTS = Path(__file__).resolve().parent / "scripts"


def _env(**extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    env.pop("TF_CONFIG", None)
    # TensorFlow's own thread pools, as a user's process has them: the test processes' share of the cores
    # (tests/conftest.py) changes the order of the replicas' sums enough to part the two runs by 1e-3.
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        env.pop(name, None)
    env.update(extra)
    return env


def _result(stdout: str) -> dict:
    lines = [ln[7:] for ln in stdout.splitlines() if ln.startswith("RESULT ")]
    assert lines, stdout[-2000:]
    return json.loads(lines[-1])


@pytest.mark.slow  # two 8-epoch runs from scratch in a fresh process; the two-worker test stays in the default
def test_mirrored_on_two_logical_cpus_matches_one_device(tmp_path):
    data = factory.make_class_folder(tmp_path / "data", {"a": 16, "b": 16, "c": 16}, size=40)
    proc = subprocess.run([sys.executable, str(SCRIPTS / "mirrored_vs_one.py"), str(data), str(tmp_path / "runs")],
                          capture_output=True, text=True, env=_env(), timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = _result(proc.stdout)
    mirrored = json.loads((Path(runs["mirrored"]["run_dir"]) / "run.json").read_text())
    assert mirrored["devices"]["strategy"] == "mirrored" and mirrored["devices"]["replicas"] == 2
    assert mirrored["devices"]["global_batch_size"] == 64
    assert mirrored["devices"]["learning_rate"] == pytest.approx(4e-4)
    one = json.loads((Path(runs["one"]["run_dir"]) / "run.json").read_text())
    assert one["devices"]["strategy"] == "one-device" and one["devices"]["global_batch_size"] == 64
    h_m, h_o = runs["mirrored"]["history"], runs["one"]["history"]
    assert len(h_m) == len(h_o) == 8
    for a, b in zip(h_m, h_o, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-3, abs=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-3, abs=1e-4)
    assert h_m[-1]["val_loss"] < 0.7 * h_m[0]["val_loss"]  # it learned, the same on both
    assert h_m[-1]["val_accuracy"] > h_m[0]["val_accuracy"]


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def test_two_workers_on_loopback_train_one_model_and_only_the_chief_writes(tmp_path):
    data = factory.make_class_folder(tmp_path / "data", {"a": 12, "b": 12}, size=40)
    out = tmp_path / "shared" / "run"
    workers = [f"localhost:{p}" for p in _free_ports(2)]
    procs = []
    for index in range(2):
        tf_config = json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})
        cmd = [sys.executable, "-m", "foveal.core.cli", "train", str(data), "--weights", real_weights(),
               "--backbone", "MobileNetV2", "--image-size", "32", "--epochs", "3", "--batch-size", "4",
               "--out", str(out),
               "--recipe", "manual", "--distribute", "multi-worker", "--json-events"]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                      env=_env(TF_CONFIG=tf_config), cwd=tmp_path))
    outputs = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=600)
        finally:
            for q in procs:
                q.kill() if q.poll() is None else None
        assert p.returncode == 0, stderr[-3000:]
        outputs.append([json.loads(ln) for ln in stdout.splitlines() if ln.startswith("{")])
    # the chief's run folder is complete; the other worker wrote nothing beside it
    assert sorted(x.name for x in (tmp_path / "shared").iterdir()) == ["run"]
    assert {"run.json", "run_config.json", "model.keras"} <= {x.name for x in out.iterdir()}
    run = json.loads((out / "run.json").read_text())
    assert run["devices"]["strategy"] == "multi-worker" and run["devices"]["replicas"] == 2
    assert run["devices"]["global_batch_size"] == 8 and run["outcome"] == "completed"
    # one model trained together: both workers saw the same (all-reduced) metrics, epoch by epoch
    epochs = [[e for e in events if e.get("event") == "EpochEnded"] for events in outputs]
    assert len(epochs[0]) == len(epochs[1]) == 3
    for a, b in zip(*epochs, strict=True):
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-5)
    started = [next(e for e in events if e.get("event") == "TrainingStarted") for events in outputs]
    assert "worker 1 of 2" in started[0]["device"] and "worker 2 of 2" in started[1]["device"]
