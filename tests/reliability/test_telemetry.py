"""Foveal makes no network connection of its own, and neither do its generated scripts: onnxruntime's telemetry
(a device id and a queued event database under ~/.cache) stays off. Run in fresh processes with a fresh HOME and
without the CI variables that would hide the problem (onnxruntime suppresses telemetry on CI machines)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

_CI_VARIABLES = ("CI", "GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "TF_BUILD", "TEAMCITY_VERSION",
                 "CODEBUILD_BUILD_ID", "BITBUCKET_BUILD_NUMBER", "ORT_DISABLE_TELEMETRY", "ORT_TELEMETRY_DISABLED")


def _tiny_onnx(folder: Path) -> Path:
    """An ONNX classifier of Foveal's export contract: uint8 images (N, H, W, 3) → probabilities of 3 classes."""
    import onnx
    from onnx import TensorProto, helper

    folder.mkdir(parents=True, exist_ok=True)
    nodes = [helper.make_node("Cast", ["image"], ["f"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["f", "axes"], ["m"], keepdims=0),
             helper.make_node("Softmax", ["m"], ["probabilities"], axis=-1)]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("image", TensorProto.UINT8,
                                                                            [None, None, None, 3])],
                              [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [None, 3])],
                              [helper.make_tensor("axes", TensorProto.INT64, [2], [1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 8
    onnx.save(model, folder / "model.onnx")
    (folder / "labels.txt").write_text("red\ngreen\nblue\n", encoding="utf-8")
    return folder / "model.onnx"


def _clean_env(home: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _CI_VARIABLES}
    return dict(env, HOME=str(home), XDG_CACHE_HOME=str(home / ".cache"))


def _telemetry_files(home: Path) -> list[str]:
    return sorted(str(p.relative_to(home)) for p in home.rglob("*") if "onnxruntime" in str(p).lower())


@pytest.fixture
def onnx_export(tmp_path):
    from foveal.core.export.examples import example_source

    folder = tmp_path / "export"
    _tiny_onnx(folder)
    (folder / "predict_example.py").write_text(example_source("onnx"), encoding="utf-8")
    Image.fromarray(np.full((8, 8, 3), (200, 10, 10), np.uint8)).save(tmp_path / "red.png")
    return folder


@pytest.fixture(scope="module")
def telemetry_premise(tmp_path_factory) -> bool:
    """Whether this onnxruntime, left alone, writes telemetry files (the tests below prove something only then)."""
    folder = tmp_path_factory.mktemp("premise")
    home = folder / "home"
    home.mkdir()
    model = _tiny_onnx(folder / "export")
    code = "import onnxruntime as ort, sys; ort.InferenceSession(sys.argv[1], providers=['CPUExecutionProvider'])"
    subprocess.run([sys.executable, "-c", code, str(model)], env=_clean_env(home), check=True)
    return bool(_telemetry_files(home))


def _require(premise: bool) -> None:
    """Skip, not pass, when nothing would be written anyway: an empty folder proves nothing then."""
    if not premise:
        pytest.skip("this onnxruntime writes no telemetry files by itself, so finding none proves nothing")


def test_onnxruntime_alone_would_write_telemetry_files(telemetry_premise):
    """The premise: without Foveal's setting, this onnxruntime does write them."""
    _require(telemetry_premise)
    assert telemetry_premise


def test_the_generated_predict_example_writes_no_telemetry(tmp_path, onnx_export, telemetry_premise):
    _require(telemetry_premise)
    home = tmp_path / "home"
    home.mkdir()
    done = subprocess.run([sys.executable, str(onnx_export / "predict_example.py"), str(tmp_path / "red.png")],
                          env=_clean_env(home), capture_output=True, text=True, check=True)
    assert "red" in done.stdout
    assert _telemetry_files(home) == []


def test_foveals_export_check_writes_no_telemetry(tmp_path, onnx_export, telemetry_premise):
    _require(telemetry_premise)
    home = tmp_path / "home"
    home.mkdir()
    code = ("import sys, pathlib, numpy as np; from foveal.core.export.writers import runner; "
            "print(runner('onnx', pathlib.Path(sys.argv[1]))(np.zeros((4, 4, 3), np.uint8)))")
    done = subprocess.run([sys.executable, "-c", code, str(onnx_export / "model.onnx")], env=_clean_env(home),
                          check=True, capture_output=True, text=True)
    assert done.stdout.strip().startswith("[")  # the check did run the model
    assert _telemetry_files(home) == []
