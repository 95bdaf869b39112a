"""How much memory a run needs, estimated from its settings before anything is built, and how much this computer
has: an image size or batch that cannot fit is refused with the numbers and a size or batch that fits, instead
of failing minutes later with an allocation traceback.

The estimate is a lower bound on purpose (only what surely does not fit is refused): the decoded batch, the
backbone's activations for it and its weights; the whole backbone's kept activations when every layer learns.
Feature caches are left out: above 1 GB they spill to memory-mapped files (core.training.features).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from foveal.core.errors import ConfigError
from foveal.core.models.registry import BackboneSpec

MB = 1 << 20
GB = 1 << 30

#: Per backbone, per image at its own input size, in MB of float32: (every layer's output summed: what a training
#: step keeps for the backward pass; the largest single layer output). From the output shapes of each Keras
#: application built without weights (benchmarks/bench_activation_memory.py); both scale with the pixel count.
ACTIVATIONS_MB: dict[str, tuple[float, float]] = {
    "VGG16": (58.1, 12.25), "VGG19": (63.1, 12.25), "ResNet50": (141.6, 3.17), "ResNet101": (213.2, 3.17),
    "ResNet152": (301.6, 3.17), "ResNet50V2": (119.7, 3.17), "ResNet101V2": (195.5, 3.17),
    "ResNet152V2": (289, 3.17), "InceptionV3": (124.2, 5.28), "Xception": (240.2, 10.55),
    "InceptionResNetV2": (309.8, 5.28), "MobileNet": (64.2, 3.12), "MobileNetV2": (83.2, 4.68),
    "MobileNetV3Small": (20.4, 0.89), "MobileNetV3Large": (58.8, 3.12), "DenseNet121": (190.4, 3.17),
    "DenseNet169": (229.2, 3.17), "DenseNet201": (294.8, 3.17), "NASNetMobile": (105.6, 1.67),
    "NASNetLarge": (1108.4, 10.71), "EfficientNetB0": (95.8, 4.68), "EfficientNetB1": (153.1, 5.36),
    "EfficientNetB2": (194.2, 6.28), "EfficientNetB3": (333.8, 12.52), "EfficientNetB4": (687, 20.04),
    "EfficientNetB5": (1366.8, 28.81), "EfficientNetB6": (2310.4, 51.43), "EfficientNetB7": (3990.6, 66.36),
    "EfficientNetV2B0": (61.7, 1.53), "EfficientNetV2B1": (96.1, 1.76), "EfficientNetV2B2": (128.9, 2.06),
    "EfficientNetV2B3": (205.9, 3.43), "EfficientNetV2S": (469.8, 6.75), "EfficientNetV2M": (1190.8, 10.55),
    "EfficientNetV2L": (2097.7, 14.06), "ConvNeXtTiny": (109.8, 4.59), "ConvNeXtSmall": (177, 4.59),
    "ConvNeXtBase": (235.6, 6.12), "ConvNeXtLarge": (352.9, 9.19),
}
#: A backbone missing from the table counts as the most demanding per pixel of its kind above (ResNet152's).
_UNKNOWN = (301.6, 12.25)

#: A forward pass holds a layer's input and output, and a skip connection's tensor, at once: at least this many
#: times the largest layer output per image (measured above the process's own: 3.1 for MobileNetV2 at 448 px and
#: 2.7 for ResNet50 at 224 px, batches of 16).
FORWARD_COPIES = 2
#: The share of the summed layer outputs a training step really keeps (some are fused away; measured: 0.82 for
#: MobileNetV2, batch 16, and 0.74 for ResNet50, batch 8, at 224 px).
KEPT_SHARE = 0.7

#: Images decoded per batch for feature extraction at least (core.training.features.DECODE_BATCH).
_DECODE_BATCH = 16


def estimate_bytes(spec: BackboneSpec, size: int, batch: int, *, learns_all: bool = False) -> int:
    """The memory a run of ``spec`` at ``size`` px in batches of ``batch`` needs at least, in bytes."""
    total_mb, largest_mb = ACTIVATIONS_MB.get(spec.name, _UNKNOWN)
    scale = (size / spec.input_size) ** 2
    pixels = size * size * 3
    weights = spec.params_m * 1e6 * 4
    decode = max(batch, _DECODE_BATCH)
    # The frozen pass: each decoded batch as uint8 and float32, and the backbone's activations for it.
    need = decode * (pixels * 5 + FORWARD_COPIES * largest_mb * MB * scale) + weights
    if learns_all:  # every layer's output kept for the backward pass; weights, gradients and Adam's two moments
        need = max(need, batch * (pixels * 4 + KEPT_SHARE * total_mb * MB * scale) + 4 * weights)
    return int(need)


def available_bytes() -> int | None:
    """The memory this computer can give a new task now (Linux: MemAvailable), or None when it cannot be told."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "win32":
        return _windows_available()
    try:  # other Unixes: free pages, else all physical memory (macOS has no count of free pages here)
        pages = os.sysconf("SC_AVPHYS_PAGES") if "SC_AVPHYS_PAGES" in os.sysconf_names else os.sysconf(
            "SC_PHYS_PAGES")
        return int(pages) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, ValueError, OSError):
        return None


def _windows_available() -> int | None:
    import ctypes

    class MemoryStatus(ctypes.Structure):
        _fields_ = [("dwLength", ctypes.c_ulong), ("dwMemoryLoad", ctypes.c_ulong),
                    ("ullTotalPhys", ctypes.c_ulonglong), ("ullAvailPhys", ctypes.c_ulonglong),
                    ("ullTotalPageFile", ctypes.c_ulonglong), ("ullAvailPageFile", ctypes.c_ulonglong),
                    ("ullTotalVirtual", ctypes.c_ulonglong), ("ullAvailVirtual", ctypes.c_ulonglong),
                    ("ullAvailExtendedVirtual", ctypes.c_ulonglong)]

    status = MemoryStatus()
    status.dwLength = ctypes.sizeof(MemoryStatus)
    if not ctypes.windll.kernel32.GlobalMemoryStatusEx(ctypes.byref(status)):  # type: ignore[attr-defined]
        return None
    return int(status.ullAvailPhys)


def check_fits(spec: BackboneSpec, size: int, batch: int, *, learns_all: bool = False,
               available: int | None = None) -> None:
    """Raise :class:`ConfigError` when a run surely cannot fit in the memory available (``available``: bytes,
    default this computer's now), naming the need, what there is, and the largest batch and size that fit."""
    have = available_bytes() if available is None else available
    need = estimate_bytes(spec, size, batch, learns_all=learns_all)
    if have is None or need <= have:
        return

    def fits(s: int, b: int) -> bool:
        return estimate_bytes(spec, s, b, learns_all=learns_all) <= have

    smaller_batch = next((b for b in _halvings(batch) if fits(size, b)), None)
    smaller_size = next((s for s in range(size - size % 32, spec.min_size - 1, -32) if s < size and fits(s, batch)),
                        None)
    choices = [f"a batch size of {smaller_batch} (--batch-size {smaller_batch})"] if smaller_batch else []
    choices += [f"an image size of {smaller_size} px (--image-size {smaller_size})"] if smaller_size else []
    advice = ("Choose " + " or ".join(choices) + "." if choices else
              "Even one image at the smallest size does not fit: close other programs or use a smaller backbone.")
    learning = ", every layer learning" if learns_all else ""
    raise ConfigError(f"Training {spec.name} on {size}×{size}-pixel images in batches of {batch}{learning} needs "
                      f"about {need / GB:.1f} GB of memory; this computer has {have / GB:.1f} GB available. "
                      f"{advice} Received: image_size={size}, batch_size={batch}")


def _halvings(batch: int) -> list[int]:
    """``batch`` halved down to 1 (100 → 50, 25, 12, 6, 3, 1): the batch sizes suggested in turn."""
    out = []
    while batch > 1:
        batch //= 2
        out.append(batch)
    return out
