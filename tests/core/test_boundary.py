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


def test_core_and_gui_type_check():
    """mypy over ``foveal.core`` and ``foveal.gui`` (settings in pyproject.toml): typed contracts are checked, not
    just written, and the window's objects use only what their own classes declare."""
    result = typecheck.run(("core", "gui"))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_ruff_is_clean():
    result = _run([sys.executable, "-m", "ruff", "check", "core", "gui", "tests", "benchmarks", "docs", "packaging"])
    assert result.returncode == 0, result.stdout + result.stderr


def _private_imports(source: str) -> list[str]:
    """``from foveal.… import _name`` lines of one module: a private name reached from another module."""
    import ast

    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("foveal"):
            found += [f"{node.module}.{a.name}" for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")]
    return found


def test_no_module_imports_a_private_name_of_another():
    assert _private_imports("from foveal.core.runs import _shape, read_run\nfrom foveal.core import __version__") \
        == ["foveal.core.runs._shape"]  # the check itself finds what it looks for
    offenders = {str(p.relative_to(ROOT)): names for folder in ("core", "gui") for p in (ROOT / folder).rglob("*.py")
                 if (names := _private_imports(p.read_text(encoding="utf-8")))}
    assert offenders == {}
