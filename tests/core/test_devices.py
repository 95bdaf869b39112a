"""Device planning (GPU rules, checked without a GPU), the pooling allocator, and mixed precision on a CPU."""

from __future__ import annotations

import json

import pytest

from foveal.core.errors import ConfigError
from foveal.core.runtime import prepare_environment
from foveal.core.training.devices import GpuInfo, plan_devices, read_tf_config
from tests.factory import real_weights

H100 = GpuInfo(0, "NVIDIA H100", (9, 0))
T4 = GpuInfo(1, "Tesla T4", (7, 5))
K80 = GpuInfo(0, "Tesla K80", (3, 7))


def test_cpu_only_machine_trains_on_one_cpu_in_float32():
    plan = plan_devices()
    assert (plan.strategy, plan.devices, plan.replicas) == ("one-device", ("/cpu:0",), 1)
    assert not plan.mixed_precision and plan.xla is None
    assert plan.describe() == "CPU"
    assert plan.scaled(32, 1e-3) == (32, 1e-3)


def test_one_modern_gpu_gets_mixed_precision_and_xla():
    plan = plan_devices(gpus=(H100,))
    assert plan.devices == ("/gpu:0",) and plan.strategy == "one-device"
    assert plan.mixed_precision and plan.xla
    assert plan.describe() == "NVIDIA H100 (GPU 0) · mixed precision (float16) · XLA"


def test_old_gpu_keeps_float32_and_says_why():
    plan = plan_devices(gpus=(K80,))
    assert not plan.mixed_precision
    assert any("compute capability 7.0" in n for n in plan.notes)


def test_several_gpus_mirror_and_scale_batch_and_learning_rate():
    gpus = (H100, GpuInfo(1, "NVIDIA H100", (9, 0)))
    plan = plan_devices(gpus=gpus)
    assert plan.strategy == "mirrored" and plan.replicas == 2
    assert plan.scaled(32, 1e-3) == (64, 2e-3)
    assert "2 × NVIDIA H100 (GPU 0, 1)" in plan.describe() and "MirroredStrategy, 2 replicas" in plan.describe()
    # the user can restrict the devices: one GPU, or the CPU
    assert plan_devices(gpus=gpus, devices="gpu:1").devices == ("/gpu:1",)
    cpu = plan_devices(gpus=gpus, devices="cpu")
    assert cpu.devices == ("/cpu:0",) and not cpu.mixed_precision


def test_mixed_gpu_generations_turn_mixed_precision_off():
    assert not plan_devices(gpus=(K80, T4)).mixed_precision
    assert plan_devices(gpus=(K80, T4), mixed_precision="on").mixed_precision
    assert not plan_devices(gpus=(H100,), mixed_precision="off", xla="off").xla


def test_mirrored_on_a_cpu_split_into_logical_devices():
    plan = plan_devices(distribute="mirrored", cpu_devices=2)
    assert plan.devices == ("/cpu:0", "/cpu:1") and plan.replicas == 2


def test_multi_worker_reads_tf_config_and_names_the_chief():
    cfg = {"cluster": {"worker": ["localhost:1", "localhost:2"]}, "task": {"type": "worker", "index": 1}}
    parsed = read_tf_config({"TF_CONFIG": json.dumps(cfg)})
    plan = plan_devices(distribute="multi-worker", tf_config=parsed)
    assert (plan.strategy, plan.n_workers, plan.worker_index, plan.replicas) == ("multi-worker", 2, 1, 2)
    assert not plan.is_chief and "worker 2 of 2" in plan.describe()


@pytest.mark.parametrize("raw, words", [
    ("{not json", "TF_CONFIG is not valid"),
    (json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}), "index below 1"),
])
def test_bad_tf_config_is_explained(raw, words):
    with pytest.raises(ConfigError, match=words):
        read_tf_config({"TF_CONFIG": raw})


def test_multi_worker_without_tf_config_says_how_to_set_it():
    with pytest.raises(ConfigError, match="needs the TF_CONFIG environment variable"):
        plan_devices(distribute="multi-worker", tf_config=None)


@pytest.mark.parametrize("kw, words", [
    (dict(devices="gpu:3"), "not visible here"), (dict(devices="tpu"), "devices must be"),
    (dict(distribute="horovod"), "distribute must be"), (dict(xla="yes"), "xla must be"),
])
def test_bad_device_settings_are_refused(kw, words):
    with pytest.raises(ConfigError, match=words):
        plan_devices(gpus=(H100,), **kw)


def test_pooling_allocator_is_chosen_unless_the_user_decided():
    env: dict = {}
    assert prepare_environment(env) and env["TF_CPU_ALLOCATOR_USE_BFC"] == "true"
    mine = {"TF_CPU_ALLOCATOR_USE_BFC": "false"}
    assert not prepare_environment(mine) and mine["TF_CPU_ALLOCATOR_USE_BFC"] == "false"
    off = {"FOVEAL_ALLOCATOR": "system"}
    assert not prepare_environment(off) and "TF_CPU_ALLOCATOR_USE_BFC" not in off


def test_mixed_precision_run_on_cpu_saves_a_float32_model(tiny_dataset, tmp_path):
    import keras
    import numpy as np

    from foveal.core.training import TrainConfig, train

    config = TrainConfig(str(tiny_dataset), backbone="MobileNetV2", weights=real_weights(), image_size=32, epochs=2,
                         batch_size=4, out_dir=str(tmp_path / "run"), mixed_precision="on")
    result = train(config)
    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the run
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["devices"]["mixed_precision"] is True
    model = keras.models.load_model(result.model_path)
    assert {layer.dtype_policy.name for layer in model.layers if layer.weights} == {"float32"}
    probs = model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0)
    assert probs.dtype == np.float32 and np.allclose(probs.sum(axis=1), 1, atol=1e-5)


def test_the_status_line_says_how_replicas_scale_the_batch_and_rate():
    assert plan_devices().scaling_note(32) == ""
    four = plan_devices(gpus=(H100,) * 4)
    assert four.scaling_note(32) == "; 4 replicas: global batch 128 (32 per replica), learning rate × 4"
