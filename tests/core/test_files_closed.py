"""Every file Foveal or its tests open is closed by a ``with`` block: an unclosed file object raises
``ResourceWarning`` whenever the garbage collector gets to it, which the warnings-as-errors setting turns into a
failure of whichever test happens to be running (and, in the product, leaks handles on Windows shares)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = ("core", "gui", "tests", "benchmarks", "docs", "packaging", "resources")
#: ``os.open`` returns a descriptor, ``webbrowser.open`` a bool: neither is a file object.
NOT_FILES = {"os", "webbrowser"}


def unclosed_opens(source: str) -> list[int]:
    """Line numbers of ``open(…)`` / ``X.open(…)`` calls whose file object no ``with`` (or ``return``, or an
    ``ExitStack.enter_context``) takes charge of. ``X.open()`` without arguments is a Qt dialog's, not a file's."""
    tree = ast.parse(source)
    managed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.With | ast.AsyncWith):
            managed.update(id(item.context_expr) for item in node.items)
        elif isinstance(node, ast.Return) and node.value is not None:
            managed.add(id(node.value))  # a factory: its caller closes what it returns
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in ("enter_context", "closing")):
            managed.update(id(a) for a in node.args)
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or id(node) in managed:
            continue
        f = node.func
        builtin = isinstance(f, ast.Name) and f.id == "open"
        method = (isinstance(f, ast.Attribute) and f.attr == "open" and bool(node.args or node.keywords)
                  and not (isinstance(f.value, ast.Name) and f.value.id in NOT_FILES))
        if builtin or method:
            lines.append(node.lineno)
    return sorted(lines)


def test_the_check_finds_what_it_is_for():
    source = ("import csv\nrows = list(csv.DictReader(path.open(encoding='utf-8')))\n"
              "w, h = Image.open(buffer).size\ndata = open(name, 'rb').read()\n"
              "with open(name) as fh:\n    fh.read()\nwith Image.open(p) as im:\n    im.size\n"
              "dialog.open()\nfd = os.open(name, os.O_RDONLY)\n")
    assert unclosed_opens(source) == [2, 3, 4]


def test_every_opened_file_is_closed_by_a_with_block():
    found = [f"{path.relative_to(ROOT)}:{line}" for folder in FOLDERS for path in sorted((ROOT / folder).rglob("*.py"))
             for line in unclosed_opens(path.read_text(encoding="utf-8"))]
    assert not found, "open without `with` (a ResourceWarning waiting to fail a test): " + ", ".join(found)
