"""The architecture is checked by a machine: headless core, lazy TensorFlow, lint clean."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import typecheck

ROOT = Path(__file__).resolve().parents[2]


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_import_contracts_hold():
    beside = Path(sys.executable).with_name("lint-imports")  # the test environment's own, PATH or not
    exe = str(beside) if beside.exists() else shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports is not installed: pip install -e '.[test]'")
    result = _run([exe, "--no-cache"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout


@pytest.mark.parametrize("module", ["foveal.core", "foveal.core.data", "foveal.core.cli", "foveal.gui",
                                    "foveal.gui.main_window"])
def test_importing_does_not_import_tensorflow(module):
    code = f"import sys, {module}; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    result = _run([sys.executable, "-c", code])
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]


def test_core_type_checks():
    """mypy over ``foveal.core`` (settings in pyproject.toml): typed contracts are checked, not just written."""
    result = typecheck.run(("core",))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_ruff_is_clean():
    result = _run([sys.executable, "-m", "ruff", "check", "core", "gui", "tests", "benchmarks", "docs", "packaging"])
    assert result.returncode == 0, result.stdout + result.stderr
