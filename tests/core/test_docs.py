"""The README and the pages it points to stay true: links resolve, the test command is the one CI runs, every
command and option of the parser is documented, every benchmark script is listed, and the README stays short."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from foveal.core.cli.main import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
PAGES = (README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "README.md",
         ROOT / "packaging" / "README.md", ROOT / "packaging" / "macos" / "README.md")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
GITHUB_RELEASES = "../../releases"  # GitHub resolves it from the README to the repository's releases page
FENCE = re.compile(r"^```.*?^```", re.S | re.M)


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return {_slug(m.group(1)) for m in re.finditer(r"^#{1,6} (.+)$", text, re.M)}


def _links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text(encoding="utf-8"))
    return [m.group(1) for m in LINK.finditer(text) if not re.match(r"[a-z]+:", m.group(1))]


def test_slug_follows_github():
    assert _slug("Evaluation, calibration and Grad-CAM") == "evaluation-calibration-and-grad-cam"
    assert _slug("What Foveal guarantees, and how it is tested") == "what-foveal-guarantees-and-how-it-is-tested"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves(page):
    broken = []
    for link in _links(page):
        if page == README and link == GITHUB_RELEASES:
            continue  # the repository's releases page on GitHub, where the README is shown
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        if not target.exists():
            broken.append(f"{link}: no such file")
        elif anchor and (target.suffix != ".md" or anchor not in _anchors(target)):
            broken.append(f"{link}: no heading '{anchor}' in {target.name}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_readme_holds_the_test_command_ci_runs():
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    command = ci_lines[-1].strip()
    assert command.startswith("python3 -m venv .venv") and "pytest" in command, command
    assert command in README.read_text(encoding="utf-8").splitlines()


def test_readme_names_the_qt_libraries_ci_installs():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    packages = re.search(r"apt-get install -y -qq ([^)]+)\)", ci)
    assert packages, "no apt-get install line in .ci/run"
    readme = README.read_text(encoding="utf-8")
    assert [p for p in packages.group(1).split() if p not in readme] == []


def test_readme_is_short_and_starts_with_what_a_user_needs():
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) < 150
    headings = {line: n for n, line in enumerate(lines) if line.startswith("## ")}
    for needed in ("## Install", "## First run", "## Your dataset folder"):
        assert headings.get(needed, 999) < 50, f"{needed!r} is not on the README's first screen"


def _commands() -> dict[str, argparse.ArgumentParser]:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _rows(command: str) -> str:
    table = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    return "\n".join(row for row in table.splitlines() if row.startswith(f"| `foveal {command} ")
                     or row.startswith(f"| `foveal {command}` "))


@pytest.mark.parametrize("command", sorted(_commands()))
def test_cli_page_lists_every_command_with_every_option(command):
    rows = _rows(command)
    assert rows, f"docs/cli.md has no row for `foveal {command}`"
    options = {o for a in _commands()[command]._actions for o in a.option_strings if o.startswith("--")}
    assert sorted(o for o in options - {"--help"} if not re.search(re.escape(o) + r"\b(?!-)", rows)) == []


def test_cli_page_lists_the_top_level_options():
    table = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    options = {o for a in build_parser()._actions for o in a.option_strings if o.startswith("--")}
    assert sorted(o for o in options - {"--help"} if f"`foveal {o}" not in table) == []


def test_benchmarks_page_lists_every_script_and_no_other():
    page = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"benchmarks/(bench_\w+\.py)", page))
    present = {p.name for p in (ROOT / "benchmarks").glob("bench_*.py")}
    assert listed == present


def _tables(page: Path) -> list[list[str]]:
    """Each markdown table of a page (outside code blocks) as its rows."""
    tables: list[list[str]] = [[]]
    for line in FENCE.sub("", page.read_text(encoding="utf-8")).splitlines():
        if line.startswith("|"):
            tables[-1].append(line)
        elif tables[-1]:
            tables.append([])
    return [t for t in tables if t]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_table_row_has_the_header_s_cells(page):
    for rows in _tables(page):
        cells = [len(re.findall(r"(?<!\\)\|", row)) for row in rows]
        assert set(cells) == {cells[0]}, f"{page.relative_to(ROOT)}: a row of the table '{rows[0][:60]}' breaks it"
        assert re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", rows[1]), f"{page.relative_to(ROOT)}: no separator under {rows[0]}"


def test_top_level_help_teaches_where_to_start_in_an_80_column_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    text = build_parser().format_help()
    assert [line for line in text.splitlines() if len(line) > 80] == []
    start = text[text.index("where to start:"):]
    for command in ("foveal demo", "foveal scan FOLDER", "foveal train FOLDER", "foveal predict RUN"):
        assert command in start
    examples = text[text.index("examples:"):].splitlines()[1:4]
    assert [line.split()[1] for line in examples] == ["scan", "train", "predict"]
    assert "sub-folder per class" in text.split("commands:")[0]
