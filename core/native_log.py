"""Silencing what TensorFlow's C++ start-up prints on every command (CUDA probes, oneDNN notices).

TensorFlow's native code writes to file descriptor 2 directly, before and regardless of Python's logging, so
the only place to filter it is the descriptor: :func:`filtered_native_stderr` points descriptor 2 at a pipe,
gives Python its own handle on the real terminal, and a thread passes every native line through except
TensorFlow's start-up chatter. ``foveal --verbose`` turns the filter off.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import threading
from collections.abc import Iterator

#: Native lines that say nothing a user can act on: absl's pre-init notice, informational and warning lines
#: (``I0000 00:00:… file.cc:31] …``), the failed CUDA probe on machines without a GPU, oneDNN's notices.
CHATTER = re.compile(
    rb"^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|[IW]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\] "
    rb"|E\d{4} [\d:.]+\s+\d+ (cuda_\w+|gpu_\w+|cuda_platform)\.cc:\d+\] "
    rb"|.*oneDNN custom operations are on"
    rb"|.*This TensorFlow binary is optimized to use available CPU instructions"
    rb"|To enable the following instructions: .* in other operations, rebuild TensorFlow"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU)")


@contextlib.contextmanager
def filtered_native_stderr() -> Iterator[None]:
    """Within the block, native writes to stderr lose TensorFlow's start-up chatter; Python's are untouched."""
    try:
        sys.stderr.flush()
        real = os.dup(2)
        read_end, write_end = os.pipe()
    except (OSError, ValueError, AttributeError):  # no usable descriptor 2 (some GUI launchers): nothing to do
        yield
        return
    python_stderr = sys.stderr
    sys.stderr = os.fdopen(os.dup(real), "w", buffering=1, encoding=getattr(python_stderr, "encoding", None)
                           or "utf-8", errors="backslashreplace")
    os.dup2(write_end, 2)
    os.close(write_end)
    pump = threading.Thread(target=_pump, args=(read_end, real), name="native-stderr-filter", daemon=True)
    pump.start()
    try:
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
        os.dup2(real, 2)  # closes the pipe's last write end: the pump reads to the end and stops
        pump.join(timeout=2.0)
        replaced, sys.stderr = sys.stderr, python_stderr
        with contextlib.suppress(OSError, ValueError):
            replaced.close()
        os.close(real)


def _pump(read_end: int, out: int) -> None:
    buf = b""
    with os.fdopen(read_end, "rb", buffering=0) as pipe:
        while chunk := pipe.read(65536):
            buf += chunk
            *lines, buf = buf.split(b"\n")
            for line in lines:
                if not CHATTER.match(line):
                    os.write(out, line + b"\n")
    if buf and not CHATTER.match(buf):
        os.write(out, buf)
