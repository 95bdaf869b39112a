"""Which devices train and how: the ``tf.distribute`` strategy, mixed precision and XLA, chosen once per run.

:func:`plan_devices` is a pure function of the settings, the GPUs found and ``TF_CONFIG``, so every rule is
tested on a machine without a GPU; :func:`setup` applies a plan (detecting GPUs, turning on memory growth,
creating the strategy). Everything falls back to the CPU: no GPU, or one too old for fast float16, is not an
error.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from foveal.core.errors import ConfigError

if TYPE_CHECKING:  # config imports this module's check_settings lazily; no cycle at run time
    from foveal.core.training.config import TrainConfig

log = logging.getLogger(__name__)

DISTRIBUTE_CHOICES = ("auto", "none", "mirrored", "multi-worker")
SWITCH_CHOICES = ("auto", "on", "off")
#: Tensor cores that make float16 fast arrived with compute capability 7.0 (Volta).
MIXED_PRECISION_MIN_CC = (7, 0)


@dataclass(frozen=True)
class GpuInfo:
    """One visible GPU: its index among visible GPUs, name and CUDA compute capability (None if unknown)."""

    index: int
    name: str
    compute_capability: tuple[int, int] | None = None


@dataclass(frozen=True)
class DevicePlan:
    """How one run trains. ``replicas`` counts every copy of the model in the job (all workers)."""

    strategy: str  # "one-device", "mirrored" or "multi-worker"
    devices: tuple[str, ...]  # the local devices the strategy uses, e.g. ("/gpu:0", "/gpu:1")
    replicas: int
    mixed_precision: bool
    xla: bool | None  # None: Keras decides (its "auto")
    gpus: tuple[GpuInfo, ...] = ()
    worker_index: int = 0
    n_workers: int = 1
    notes: tuple[str, ...] = field(default=())

    @property
    def is_chief(self) -> bool:
        """The worker that writes the run folder (worker 0, as ``MultiWorkerMirroredStrategy`` has it)."""
        return self.worker_index == 0

    @property
    def on_gpu(self) -> bool:
        return any(d.lower().startswith("/gpu") for d in self.devices)

    def describe(self) -> str:
        """One line for people: which device trains, with which speed-ups."""
        used = [g for g in self.gpus if f"/gpu:{g.index}" in self.devices]
        if used:
            names = sorted({g.name for g in used})
            where = f"{len(used)} × {names[0]}" if len(used) > 1 and len(names) == 1 else ", ".join(names)
            where += f" (GPU {', '.join(str(g.index) for g in used)})"
        else:
            where = "CPU" if len(self.devices) <= 1 else f"CPU split into {len(self.devices)} devices"
        parts = [where]
        if self.strategy == "mirrored":
            parts.append(f"MirroredStrategy, {self.replicas} replicas")
        elif self.strategy == "multi-worker":
            parts.append(f"worker {self.worker_index + 1} of {self.n_workers} (MultiWorkerMirroredStrategy, "
                         f"{self.replicas} replicas)")
        if self.mixed_precision:
            parts.append("mixed precision (float16)")
        if self.xla:
            parts.append("XLA")
        return " · ".join(parts)

    def scaled(self, batch_size: int, learning_rate: float) -> tuple[int, float]:
        """The global batch and learning rate: ``batch_size`` images per replica, the rate scaled linearly."""
        return batch_size * self.replicas, learning_rate * self.replicas

    def scaling_note(self, batch_size: int) -> str:
        """How several replicas changed the batch and learning rate, for the status line ('' for one)."""
        if self.replicas <= 1:
            return ""
        return (f"; {self.replicas} replicas: global batch {batch_size * self.replicas} ({batch_size} per "
                f"replica), learning rate × {self.replicas}")

    def to_dict(self) -> dict:
        data = asdict(self)
        data["description"] = self.describe()
        return data


def read_tf_config(environ: Mapping[str, str] | None = None) -> dict | None:
    """The parsed ``TF_CONFIG`` variable, or None when it is not set. Bad JSON is a :class:`ConfigError`."""
    raw = (os.environ if environ is None else environ).get("TF_CONFIG")
    if not raw:
        return None
    try:
        data = json.loads(raw)
        workers = data["cluster"]["worker"]
        task = data["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigError("TF_CONFIG is not valid: it must be JSON like {\"cluster\": {\"worker\": [\"host1:12345\", "
                          "\"host2:12345\"]}, \"task\": {\"type\": \"worker\", \"index\": 0}}. "
                          f"Received: {raw[:200]!r} ({exc})") from None
    if task.get("type", "worker") not in ("worker", "chief") or not 0 <= index < len(workers):
        raise ConfigError(f"TF_CONFIG's task must be a worker with an index below {len(workers)}. "
                          f"Received: task={task}")
    return data


def check_settings(distribute: str, mixed_precision: str, xla: str) -> None:
    """Raise :class:`ConfigError` naming the first device setting that is not one of its choices."""
    if distribute not in DISTRIBUTE_CHOICES:
        raise ConfigError(f"distribute must be one of {', '.join(DISTRIBUTE_CHOICES)}. Received: {distribute!r}")
    for name, value in (("mixed_precision", mixed_precision), ("xla", xla)):
        if value not in SWITCH_CHOICES:
            raise ConfigError(f"{name} must be 'auto', 'on' or 'off'. Received: {value!r}")


def parse_devices(devices: str, gpus: tuple[GpuInfo, ...]) -> tuple[GpuInfo, ...]:
    """The GPUs a ``devices`` setting picks: "auto"/"gpu" all, "cpu" none, "gpu:0,2" those."""
    text = devices.strip().lower()
    if text in ("auto", "gpu", "all"):
        return gpus
    if text == "cpu":
        return ()
    if text.startswith("gpu:"):
        try:
            wanted = [int(p) for p in text[4:].split(",") if p.strip()]
        except ValueError:
            wanted = []
        known = {g.index: g for g in gpus}
        missing = [i for i in wanted if i not in known]
        if wanted and not missing:
            return tuple(known[i] for i in wanted)
        found = ", ".join(f"{g.index}: {g.name}" for g in gpus) or "none"
        raise ConfigError(f"devices={devices!r} names GPUs that are not visible here (visible GPUs: {found}). "
                          "Use 'auto', 'cpu', or 'gpu:' with the numbers of visible GPUs, e.g. 'gpu:0,1'.")
    raise ConfigError(f"devices must be 'auto', 'cpu', 'gpu' or 'gpu:0,1,…'. Received: {devices!r}")


def plan_devices(*, distribute: str = "auto", devices: str = "auto", mixed_precision: str = "auto",
                 xla: str = "auto", gpus: tuple[GpuInfo, ...] = (), cpu_devices: int = 1,
                 tf_config: dict | None = None) -> DevicePlan:
    """Decide how to train from the settings and what this machine has (see the module docstring)."""
    check_settings(distribute, mixed_precision, xla)
    chosen = parse_devices(devices, gpus)
    local = tuple(f"/gpu:{g.index}" for g in chosen) or tuple(f"/cpu:{i}" for i in range(max(1, cpu_devices)))
    worker_index, n_workers, notes = 0, 1, []
    if distribute == "multi-worker":
        if tf_config is None:
            raise ConfigError("--distribute multi-worker needs the TF_CONFIG environment variable on every machine, "
                              "e.g. TF_CONFIG='{\"cluster\": {\"worker\": [\"host1:12345\", \"host2:12345\"]}, "
                              "\"task\": {\"type\": \"worker\", \"index\": 0}}' (index 1 on the second machine). "
                              "Cluster launchers (Slurm, Kubernetes) can set it; see docs/gpus.md.")
        strategy = "multi-worker"
        worker_index, n_workers = int(tf_config["task"]["index"]), len(tf_config["cluster"]["worker"])
        local = local if chosen else ("/cpu:0",)
    elif distribute == "mirrored" or (distribute == "auto" and len(chosen) > 1):
        strategy = "mirrored"
    else:
        strategy, local = "one-device", local[:1]
    replicas = len(local) * n_workers if strategy != "one-device" else 1
    on_gpu = bool(chosen)
    capable = on_gpu and all(g.compute_capability is not None and g.compute_capability >= MIXED_PRECISION_MIN_CC
                             for g in chosen)
    if mixed_precision == "auto":
        use_mp = capable
        if on_gpu and not capable:
            notes.append("Mixed precision is off: it needs GPUs of compute capability 7.0 or newer")
    else:
        use_mp = mixed_precision == "on"
        if use_mp and not on_gpu:
            notes.append("Mixed precision on a CPU is slower than float32; it is on because it was asked for")
    use_xla: bool | None = {"on": True, "off": False}.get(xla, True if on_gpu else None)
    return DevicePlan(strategy, local, replicas, use_mp, use_xla, tuple(chosen), worker_index, n_workers,
                      tuple(notes))


def detect_gpus() -> tuple[GpuInfo, ...]:
    """The visible GPUs, with memory growth turned on (TensorFlow otherwise takes all their memory at once)."""
    import tensorflow as tf

    found = []
    for i, dev in enumerate(tf.config.list_physical_devices("GPU")):
        try:
            tf.config.experimental.set_memory_growth(dev, True)
        except RuntimeError:  # the runtime already started: growth is whatever it was set to then
            log.debug("memory growth not changed on %s: runtime already initialised", dev.name)
        details = tf.config.experimental.get_device_details(dev) or {}
        found.append(GpuInfo(i, str(details.get("device_name", dev.name)), details.get("compute_capability")))
    return tuple(found)


def setup(config: TrainConfig) -> tuple[DevicePlan, Any]:
    """Detect the devices, plan as ``config`` asks, and create the ``tf.distribute`` strategy (typed ``Any``:
    TensorFlow has no type information)."""
    import tensorflow as tf

    tf_config = read_tf_config() if config.distribute == "multi-worker" else None
    if tf_config is not None:
        # Created before any other TensorFlow work, as MultiWorkerMirroredStrategy requires.
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    gpus = detect_gpus()
    cpus = len(tf.config.list_logical_devices("CPU"))
    plan = plan_devices(distribute=config.distribute, devices=config.devices,
                        mixed_precision=config.mixed_precision, xla=config.xla, gpus=gpus, cpu_devices=cpus,
                        tf_config=tf_config)
    if plan.strategy == "mirrored":
        strategy = tf.distribute.MirroredStrategy(list(plan.devices))
    elif plan.strategy == "one-device" and plan.devices[0] == ("/gpu:0" if gpus else "/cpu:0"):
        # TensorFlow's own default placement: no distribution layer at all (OneDeviceStrategy costs ~2 s per
        # 10 epochs of head training on 480 images, as much as the training itself).
        strategy = tf.distribute.get_strategy()
    elif plan.strategy == "one-device":
        strategy = tf.distribute.OneDeviceStrategy(plan.devices[0])
    log.info("Training on %s", plan.describe())
    return plan, strategy


@contextmanager
def precision(mixed: bool) -> Iterator[None]:
    """Keras's global dtype policy set to ``mixed_float16`` (or float32) for the block, then restored."""
    import keras

    before = keras.mixed_precision.global_policy().name
    keras.mixed_precision.set_global_policy("mixed_float16" if mixed else "float32")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(before)
