"""The desktop bundle's size, start-to-window time and self-test time (build it first: packaging/build.sh).

    python benchmarks/bench_bundle.py [--runs 5] [--bundle dist/foveal]

Start-to-window is the wall time of a fresh `dist/foveal/foveal` process under Xvfb until its main window has
painted (FOVEAL_QUIT_WHEN_SHOWN makes it exit there); the first start is reported apart (cold page cache for a
1.7 GB folder), then the median of the rest (target < 5 s). The environment has no Python on PATH beyond the
system's, and a fresh HOME.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def size_mb(path: Path) -> float:
    if path.is_file():
        return path.stat().st_size / 1e6
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink()) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--bundle", default=str(ROOT / "dist" / "foveal"))
    args = parser.parse_args()
    bundle = Path(args.bundle)
    exe = bundle / "foveal"
    if not exe.is_file() or shutil.which("xvfb-run") is None:
        raise SystemExit(f"needs {exe} (packaging/build.sh) and xvfb-run (Debian's xvfb)")
    home = Path(tempfile.mkdtemp(prefix="foveal-bench-home-"))
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(home), "LANG": "C.UTF-8"}
    print(f"bundle folder: {size_mb(bundle):,.0f} MB")
    for archive in sorted(bundle.parent.glob("foveal[-_]*")):
        print(f"{archive.name}: {size_mb(archive):,.0f} MB")
    times = []
    for _ in range(args.runs + 1):
        t0 = time.perf_counter()
        done = subprocess.run(["xvfb-run", "-a", str(exe)], env={**env, "FOVEAL_QUIT_WHEN_SHOWN": "1"},
                              capture_output=True, text=True, timeout=300)
        times.append(time.perf_counter() - t0)
        if "window shown" not in done.stdout:
            raise SystemExit(f"the bundle did not show its window:\n{done.stderr[-2000:]}")
    first, rest = times[0], sorted(times[1:])
    print(f"start to painted window: first {first:.2f} s, then median {rest[len(rest) // 2]:.2f} s, worst "
          f"{rest[-1]:.2f} s over {len(rest)} runs (target < 5 s after the first)")
    t0 = time.perf_counter()
    done = subprocess.run(["xvfb-run", "-a", str(exe), "--self-test"], env=env, capture_output=True, text=True,
                          timeout=900)
    print(done.stdout.strip())
    print(f"self-test: exit code {done.returncode}, {time.perf_counter() - t0:.1f} s")
    shutil.rmtree(home, ignore_errors=True)
    raise SystemExit(done.returncode)


if __name__ == "__main__":
    main()
