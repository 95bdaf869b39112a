"""The GitHub workflows and the build files they use: actionlint finds nothing in them (where it is installed), the
release workflow builds the bundle on Linux, Windows and macOS and runs its --self-test on each, and CI runs the
README's test command through .ci/run on Linux and the core tests on Windows and macOS. PyInstaller's build
definition is read as each system would read it (no build: PyInstaller's classes are stand-ins here).

None of this runs a workflow: the builds themselves happen on GitHub's runners.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

yaml = pytest.importorskip("yaml", reason="PyYAML (in the test extras) reads the workflow files")

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
SYSTEMS = {"ubuntu-latest": "Linux", "windows-latest": "Windows", "macos-latest": "macOS"}


def _workflow(name: str) -> dict:
    data = yaml.safe_load((WORKFLOWS / name).read_text(encoding="utf-8"))
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def _steps_on(job: dict, system: str) -> list[dict]:
    """The steps of ``job`` that run on ``system`` (Linux, Windows or macOS), judged by their runner.os tests."""
    steps = []
    for step in job["steps"]:
        cond = str(step.get("if", ""))
        wanted = re.findall(r"runner\.os == '(\w+)'", cond)
        refused = re.findall(r"runner\.os != '(\w+)'", cond)
        if all(w == system for w in wanted) and system not in refused:
            steps.append(step)
    return steps


def _actionlint() -> str | None:
    """The actionlint program: on PATH, or beside this Python (a virtual environment's bin folder)."""
    found = shutil.which("actionlint")
    if found:
        return found
    for name in ("actionlint", "actionlint.exe"):
        beside = Path(sys.executable).parent / name
        if beside.is_file():
            return str(beside)
    return None


def test_actionlint_finds_nothing_in_the_workflows():
    program = _actionlint()
    if program is None:
        pytest.skip("actionlint is not installed here (GitHub's CI runs it in ci.yml's actionlint job; to run it "
                    "here, put an actionlint program on PATH)")
    files = sorted(str(p.relative_to(ROOT)) for p in WORKFLOWS.glob("*.yml"))
    assert files == [".github/workflows/ci.yml", ".github/workflows/release.yml"]
    done = subprocess.run([program, *files], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and not done.stdout and not done.stderr, done.stdout + done.stderr


def test_release_builds_and_self_tests_the_bundle_on_all_three_systems():
    release = _workflow("release.yml")
    assert release["on"]["push"]["tags"] == ["v*"]
    job = release["jobs"]["bundle"]
    assert set(job["strategy"]["matrix"]["os"]) == set(SYSTEMS) and job["runs-on"] == "${{ matrix.os }}"
    assert not job["strategy"]["fail-fast"]  # one system failing still shows how the others went
    for system in SYSTEMS.values():
        runs = [str(s.get("run", "")) for s in _steps_on(job, system)]
        assert any("packaging/build.sh" in r or "foveal.spec" in r for r in runs), system
        # The self-test is not switched off by any optional setting: only the system decides.
        self_tests = [s for s in _steps_on(job, system) if "--self-test" in str(s.get("run", ""))]
        assert self_tests and all("env." not in str(s.get("if", "")) for s in self_tests), system
    linux_test = next(s for s in _steps_on(job, "Linux") if "--self-test" in str(s.get("run", "")))
    assert "xvfb-run" in linux_test["run"] and "runner.os == 'Linux'" in linux_test["if"]
    python = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/setup-python"))
    assert python["with"]["python-version"] == "3.11"


def test_each_system_makes_its_own_files_and_the_release_attaches_them_on_a_tag():
    job = _workflow("release.yml")["jobs"]["bundle"]
    runs = {system: "\n".join(str(s.get("run", "")) for s in _steps_on(job, system)) for system in SYSTEMS.values()}
    assert "packaging\\windows\\foveal.iss" in runs["Windows"] and "/VERYSILENT" in runs["Windows"]
    assert "packaging/macos/make_dmg.sh" in runs["macOS"] and "hdiutil attach" in runs["macOS"]
    assert "apt-get install" in runs["Linux"] and ".deb" in runs["Linux"]
    upload = next(s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    patterns = upload["with"]["path"].split()
    for made in ("foveal-0.1.0-linux-x86_64.tar.gz", "foveal_0.1.0_amd64.deb", "foveal-0.1.0-macos-arm64.dmg",
                 _iss_output("0.1.0") + ".exe"):
        assert any(Path("dist", made).match(p) for p in patterns), made
    release = _workflow("release.yml")["jobs"]["release"]
    assert release["needs"] == "bundle" and release["if"] == "github.ref_type == 'tag'"
    assert release["permissions"] == {"contents": "write"}  # the only job that may write
    assert _workflow("release.yml")["permissions"] == {"contents": "read"}
    publish = [s for s in release["steps"] if "action-gh-release" in str(s.get("uses", ""))
               or "gh release" in str(s.get("run", ""))]
    assert publish and publish[-1]["with"]["files"] == "dist/*"


def test_signing_and_notarisation_run_only_when_their_secrets_exist():
    job = _workflow("release.yml")["jobs"]["bundle"]
    secret_steps = [s for s in job["steps"]
                    if re.search(r"security import|codesign --sign|notarytool", str(s.get("run", "")))]
    assert len(secret_steps) == 2
    for step in secret_steps:
        assert "env.MACOS_CERTIFICATE != ''" in step["if"], step["name"]
    assert "env.APPLE_ID != ''" in secret_steps[1]["if"]
    # The secrets reach the macOS job only.
    assert job["env"]["MACOS_CERTIFICATE"].startswith("${{ matrix.os == 'macos-latest' && secrets.")


def test_ci_runs_the_readme_test_command_through_ci_run_on_linux():
    ci = _workflow("ci.yml")
    assert "push" in ci["on"] and "pull_request" in ci["on"]
    linux = ci["jobs"]["linux"]
    assert linux["runs-on"] == "ubuntu-latest"
    assert any(str(s.get("run", "")).strip() == "bash .ci/run" for s in linux["steps"])
    # .ci/run holds the README's test command (the line that installs the test extras and runs pytest), exactly.
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    commands = {line.strip().strip("`") for line in readme if '".[test]"' in line and "pytest" in line}
    ci_run = {line.strip() for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()}
    assert commands and commands & ci_run, commands


def test_ci_runs_the_core_tests_on_windows_and_macos_with_qt_offscreen():
    core = _workflow("ci.yml")["jobs"]["core"]
    assert set(core["strategy"]["matrix"]["os"]) == {"windows-latest", "macos-latest"}
    assert core["env"]["QT_QPA_PLATFORM"] == "offscreen"
    runs = [str(s.get("run", "")) for s in core["steps"]]
    install = next(i for i, r in enumerate(runs) if 'pip install -e ".[test]"' in r)
    test = next(i for i, r in enumerate(runs) if re.search(r"pytest tests/core\b", r))
    assert install < test


def _iss_output(version: str) -> str:
    """The installer's file name (without .exe) that packaging/windows/foveal.iss gives for ``version``."""
    text = (ROOT / "packaging" / "windows" / "foveal.iss").read_text(encoding="utf-8")
    return re.search(r"^OutputBaseFilename=(.+)$", text, re.M).group(1).replace("{#AppVersion}", version)


def test_the_windows_installer_script_names_files_that_exist():
    iss = ROOT / "packaging" / "windows"
    text = (iss / "foveal.iss").read_text(encoding="utf-8")
    named = re.findall(r'(?:LicenseFile=|SetupIconFile=|Source: ")(\.\.[^"\n*]*)', text)
    assert len(named) >= 4
    for path in named:
        if path.replace("\\", "/").startswith("../../dist/"):
            continue  # the bundle PyInstaller builds first: not in a clean checkout
        assert (iss / path.replace("\\", "/")).resolve().exists(), path
    assert _iss_output("1.2.3") == "foveal-1.2.3-windows-x86_64-setup"
    assert re.search(r'^Source: "\.\.\\\.\.\\dist\\foveal\\\*";.*recursesubdirs', text, re.M)


class _Built(SimpleNamespace):
    """Stands in for one of PyInstaller's build steps (Analysis, EXE…), keeping what the spec gave it."""

    def __init__(self, *args, **kwargs):
        super().__init__(args=args, **kwargs)
        self.pure = self.scripts = self.binaries = self.datas = []


def _read_spec(monkeypatch, platform: str, identity: str = "") -> dict:
    """Run packaging/foveal.spec as PyInstaller would on ``platform``, with stand-ins for its build steps."""
    hooks = ModuleType("PyInstaller.utils.hooks")
    hooks.collect_data_files = hooks.collect_submodules = hooks.copy_metadata = lambda *a, **k: []
    monkeypatch.setitem(sys.modules, "PyInstaller.utils.hooks", hooks)
    monkeypatch.setattr(sys, "platform", platform)
    monkeypatch.setenv("FOVEAL_CODESIGN_IDENTITY", identity)
    spec = ROOT / "packaging" / "foveal.spec"
    names = {"SPECPATH": str(spec.parent), **{n: type(n, (_Built,), {}) for n in
                                               ("Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE")}}
    exec(compile(spec.read_text(encoding="utf-8"), str(spec), "exec"), names)
    return names


@pytest.mark.parametrize(("platform", "icon", "console"), [("linux", ".png", True), ("win32", ".ico", True),
                                                          ("darwin", ".png", False)])
def test_the_build_definition_fits_each_system(monkeypatch, platform, icon, console):
    spec = _read_spec(monkeypatch, platform)
    exe = spec["exe"]
    assert Path(exe.icon).suffix == icon and Path(exe.icon).is_file()
    assert all(Path(script).is_file() for script in spec["a"].args[0])
    # A console program on Windows hides the console window it would own; on macOS the .app is windowed.
    assert exe.console is console and exe.hide_console == ("hide-early" if platform == "win32" else None)
    assert ("app" in spec) is (platform == "darwin") and exe.codesign_identity is None
    if platform == "darwin":
        assert spec["app"].name == "Foveal.app" and spec["app"].args == (spec["coll"],)


def test_the_macos_build_signs_with_the_hardened_runtime_entitlements_given_an_identity(monkeypatch):
    exe = _read_spec(monkeypatch, "darwin", identity="Developer ID Application: Lab (TEAM123)")["exe"]
    assert exe.codesign_identity == "Developer ID Application: Lab (TEAM123)"
    entitlements = Path(exe.entitlements_file)
    assert entitlements.is_file() and b"allow-unsigned-executable-memory" in entitlements.read_bytes()
