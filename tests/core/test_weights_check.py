"""A weights file is checked against the backbone before anything trains, with the real ImageNet files: the right
file fits, another network's file is named as such with the file that would fit, in the window's words and the
command line's."""

from __future__ import annotations

import shutil

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from foveal.core.cli import main as cli_main
from foveal.core.errors import WeightsError
from foveal.core.models.registry import get_backbone
from foveal.core.models.weights_check import check_weights_file, file_layers
from tests.core.conftest import MOBILENET_V1_WEIGHTS
from tests.factory import MOBILENET_V2_WEIGHTS, SHARED

MOBILENET_V1_WITH_TOP = SHARED / "weights" / "mobilenet_v1_0.25_224_imagenet.h5"
V2_FILE_NAME = "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"


@pytest.fixture(scope="module")
def shared_files():
    for path in (MOBILENET_V2_WEIGHTS, MOBILENET_V1_WEIGHTS, MOBILENET_V1_WITH_TOP):
        if not path.exists():
            pytest.skip(f"real ImageNet weights not found at {path} (shared/weights/README.md)")


def test_the_right_file_fits_and_another_networks_file_is_named_with_the_file_that_would(shared_files):
    v2 = get_backbone("MobileNetV2")
    assert check_weights_file(v2, str(MOBILENET_V2_WEIGHTS)) is None
    said = check_weights_file(v2, str(MOBILENET_V1_WEIGHTS))  # the tester's file: MobileNet v1's, Keras 3 layout
    assert said == ("This file holds the weights of a different network (54 layers with weights; MobileNetV2 has "
                    f"104). Choose MobileNetV2's weights without its top: Keras names that file '{V2_FILE_NAME}'.")
    with_top = check_weights_file(v2, str(MOBILENET_V1_WITH_TOP))  # Keras 2 layout, a whole saved model
    assert with_top is not None and "different network (55 layers with weights; MobileNetV2 has 104)" in with_top


def test_the_same_network_at_another_width_is_told_apart_from_another_network(shared_files):
    # The file is MobileNet at width 0.25; Foveal's MobileNet is the full width: same layers, other sizes.
    said = check_weights_file(get_backbone("MobileNet"), str(MOBILENET_V1_WEIGHTS))
    assert said is not None and "as many layers with weights as MobileNet (54), but of other sizes" in said
    assert "218,544 numbers in all; MobileNet has 3,228,864" in said and "mobilenet_1_0_224_tf_no_top.h5" in said


def test_the_right_networks_file_with_its_top_says_so(shared_files, tmp_path):
    with_top = tmp_path / "mobilenet_v2_with_top.h5"
    shutil.copyfile(MOBILENET_V2_WEIGHTS, with_top)
    with h5py.File(with_top, "r+") as f:  # Keras 2's layout: one more layer, the 1000-class top, at the end
        layer = f.create_group("predictions")
        layer.create_dataset("predictions/kernel:0", data=np.zeros((1280, 4), np.float32))
        layer.attrs["weight_names"] = [b"predictions/kernel:0"]
        f.attrs["layer_names"] = np.array([*f.attrs["layer_names"], b"predictions"], dtype="S")
    said = check_weights_file(get_backbone("MobileNetV2"), str(with_top))
    assert said is not None and said.startswith("This file holds the weights of MobileNetV2 with its top")


def test_a_file_that_is_no_weights_file_is_said_without_building_anything(tmp_path, monkeypatch):
    from foveal.core.models import weights_check

    monkeypatch.setattr(weights_check, "_architecture", lambda spec: pytest.fail("built a backbone"))
    monkeypatch.setattr(weights_check, "keras_file_name", lambda spec: "the_right_file.h5")
    v2 = get_backbone("MobileNetV2")
    text = tmp_path / "notes.txt"
    text.write_text("weights")
    assert "not a Keras weights file: Keras reads weights from files ending in .h5" in check_weights_file(v2,
                                                                                                       str(text))
    assert "is not there (moved or deleted?)" in check_weights_file(v2, str(tmp_path / "gone.h5"))
    empty = tmp_path / "empty.h5"
    with h5py.File(empty, "w") as f:
        f.attrs["layer_names"] = []
    assert check_weights_file(v2, str(empty)) == ("empty.h5 holds no layer weights. Choose MobileNetV2's weights "
                                                  "without its top: Keras names that file 'the_right_file.h5'.")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(content=st.binary(max_size=2048), name=st.sampled_from(["w.h5", "w.weights.h5", "w.hdf5"]))
def test_any_bytes_named_like_weights_are_a_message_never_a_crash(tmp_path, monkeypatch, content, name):
    from foveal.core.models import weights_check

    monkeypatch.setattr(weights_check, "keras_file_name", lambda spec: "the_right_file.h5")
    path = tmp_path / name
    path.write_bytes(content)
    assert file_layers(str(path)) is None
    said = check_weights_file(get_backbone("MobileNetV2"), str(path))
    assert said is not None and said.startswith(f"{name} could not be read as a Keras weights file")


def test_building_with_a_file_that_does_not_fit_says_the_same_plain_words(shared_files, monkeypatch):
    from foveal.core.models import weights_check
    from foveal.core.models.build import build_backbone

    # Keras's file name not yet known: finding it builds the backbone again, after the failed build let go of Keras
    monkeypatch.setattr(weights_check, "_file_names", {})

    with pytest.raises(WeightsError) as caught:
        build_backbone(get_backbone("MobileNetV2"), 96, str(MOBILENET_V1_WEIGHTS))
    assert "different network (54 layers with weights; MobileNetV2 has 104)" in str(caught.value)
    assert "could not be loaded" not in str(caught.value)  # Keras's own words stay out of it


def test_train_with_a_file_that_does_not_fit_stops_before_reading_any_data(shared_files, tiny_dataset, tmp_path,
                                                                           capsys, monkeypatch):
    import foveal.core.training as training

    monkeypatch.setattr(training, "train", lambda *a, **k: pytest.fail("training started"))
    out = tmp_path / "run"
    rc = cli_main(["train", str(tiny_dataset), "--weights", str(MOBILENET_V1_WEIGHTS), "--out", str(out)])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert f"error: The weights file {MOBILENET_V1_WEIGHTS} does not fit MobileNetV2. This file holds the " \
           "weights of a different network (54 layers with weights; MobileNetV2 has 104)" in err
    assert V2_FILE_NAME in err and "Traceback" not in err
    assert not out.exists()
