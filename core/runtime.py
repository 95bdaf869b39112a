"""Process-wide settings made once, before TensorFlow loads (``core`` applies them when it is imported).

TensorFlow's default CPU allocator hands every large tensor's memory back to the kernel when the tensor dies
and faults it in again at the next step: on a 2-core laptop a third of a forward pass's CPU time went to the
kernel, and more once a ``from_generator`` pipeline sets glibc's trim threshold to 128 KiB. TensorFlow's own
pooling allocator (BFC, the one it uses on GPUs) keeps freed blocks for reuse. ``benchmarks/bench_allocator.py``
measures the difference (+74% forward, +51% training steps for MobileNetV2 on this machine's CPU).
"""

from __future__ import annotations

import logging
import os
import sys

log = logging.getLogger(__name__)

#: Set FOVEAL_ALLOCATOR=system to keep TensorFlow's default allocator (e.g. to compare).
_ENV = "FOVEAL_ALLOCATOR"


def prepare_environment(environ: dict | None = None) -> bool:
    """Choose TensorFlow's pooling CPU allocator unless the user set it or ``FOVEAL_ALLOCATOR=system``.

    Returns True when the setting will take effect (TensorFlow not yet loaded and nothing overridden).
    """
    env = os.environ if environ is None else environ
    # Foveal makes no network connection of its own: onnxruntime's telemetry (a device id and an event queue
    # under ~/.cache, uploaded later) is off. Both names: the first is read by onnxruntime 1.2x, the second by
    # later releases; either must be set before onnxruntime is imported.
    env.setdefault("ORT_DISABLE_TELEMETRY", "1")
    env.setdefault("ORT_TELEMETRY_DISABLED", "1")
    if env.get(_ENV, "").lower() in ("system", "off"):
        return False
    if "TF_CPU_ALLOCATOR_USE_BFC" in env:  # the user's own choice wins
        return False
    env["TF_CPU_ALLOCATOR_USE_BFC"] = "true"
    if "tensorflow" in sys.modules and environ is None:
        log.debug("TensorFlow was imported before core: the pooling CPU allocator may not apply")
        return False
    return True
