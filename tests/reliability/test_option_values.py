"""Every numeric option of every command, on and beyond the ends of its range, through ``foveal`` in this process.

One invariant: a value outside the range ends the command with exit code 2 and a message naming the option and
its range, and nothing is made (no run folder, no file); a value on the boundary passes the check. The cases are
generated from the parser itself, so an option added without a range fails here; the values users met are kept
below as explicit regression examples.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import traceback
from pathlib import Path

import pytest

from foveal.core.cli.main import build_parser, main
from foveal.core.cli.options import Checked, check_options, option_name
from foveal.core.training.config import Limit


def _commands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


def _numeric(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in parser._actions if a.option_strings and a.type in (int, float)]


def _base_argv(name: str, parser: argparse.ArgumentParser, root: Path) -> list[str]:
    """The command with its positional arguments and required options filled, writing (if it ever did) under
    ``root``: the check has to refuse before any of them is looked at."""
    argv = [name]
    for action in parser._actions:
        if not action.option_strings and action.dest != "help":
            argv += [str(root / "in" / action.dest)] if action.nargs in (None, "?") else [str(root / "in" / "a")]
        elif action.required:
            argv += [action.option_strings[0], str(action.choices[0]) if action.choices else "x"]
    if any("--out" in a.option_strings for a in parser._actions):
        argv += ["--out", str(root / "out" / "run")]
    return argv


def _outside(limit: Limit, kind: type) -> list[str]:
    """Values just outside ``limit`` (and never inside one: NaN, infinity, a 20-digit number)."""
    below = limit.low if limit.open_low else limit.low - (1 if kind is int else 0.5)
    above = limit.high if limit.open_high else limit.high + (1 if kind is int else 0.5)
    values = [below, above, -(10**20) if kind is int else -math.inf, 10**20 if kind is int else math.inf]
    values += [] if kind is int else [math.nan]
    return [str(int(v)) if kind is int else repr(float(v)) for v in values]


def _inside(limit: Limit, kind: type) -> list[str]:
    ends = [v for v, open_ in ((limit.low, limit.open_low), (limit.high, limit.open_high)) if not open_]
    return [str(int(v)) if kind is int else repr(float(v)) for v in ends]


def _cases(inside: bool) -> list[tuple[str, str, str]]:
    out = []
    for name, parser in _commands().items():
        func = parser.get_default("func")
        for action in _numeric(parser):
            limit = func.limits[action.dest]
            for value in (_inside if inside else _outside)(limit, action.type):
                out.append((name, action.dest, value))
    return out


def _run(argv: list[str]) -> tuple[int | None, str, str | None]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            rc = main(argv)
        except SystemExit as exc:  # argparse
            rc = exc.code if isinstance(exc.code, int) else 2
        except BaseException:
            return None, err.getvalue(), traceback.format_exc()
    return rc, err.getvalue(), None


def test_every_command_checks_its_options_and_every_numeric_option_has_a_range():
    for name, parser in _commands().items():
        func = parser.get_default("func")
        assert isinstance(func, Checked), f"`foveal {name}` does not check its options"
        unchecked = [a.dest for a in _numeric(parser) if a.dest not in func.limits]
        assert not unchecked, f"`foveal {name}`: numeric options without a range: {unchecked}"


@pytest.mark.parametrize("command, dest, value", _cases(inside=False))
def test_a_value_outside_the_range_is_a_message_and_nothing_is_made(tmp_path, monkeypatch, command, dest, value):
    monkeypatch.chdir(tmp_path)
    parser = _commands()[command]
    limit = parser.get_default("func").limits[dest]
    rc, err, tb = _run([*_base_argv(command, parser, tmp_path), f"{option_name(dest)}={value}"])  # = for -inf
    assert tb is None, tb
    assert rc == 2, err
    assert f"{option_name(dest)} must be {limit.words()}. Received: {option_name(dest)}=" in err
    assert list(tmp_path.iterdir()) == [], "something was made before the option was checked"


@pytest.mark.parametrize("command, dest, value", _cases(inside=True))
def test_a_value_on_the_boundary_passes_the_check(tmp_path, command, dest, value):
    parser = _commands()[command]
    args = build_parser().parse_args([*_base_argv(command, parser, tmp_path), f"{option_name(dest)}={value}"])
    check_options(args, parser.get_default("func").limits)  # no error


#: What users met before the options were checked (a traceback, a quiet ordinary run, or a value taken).
REGRESSIONS = [
    (["train", "DATA", "--folds", "0"], "--folds must be between 3 and 10. Received: --folds=0"),
    (["train", "DATA", "--folds", "1"], "--folds must be between 3 and 10"),
    (["train", "DATA", "--seed", "-1"], "--seed must be between 0 and 4294967295. Received: --seed=-1"),
    (["train", "DATA", "--seed", "12345678901234567890"], "--seed must be between 0 and 4294967295"),
    (["train", "DATA", "--image-size", "6000"], "--image-size must be between 1 and 2048"),
    (["train", "DATA", "--epochs", "0"], "--epochs must be between 1 and 10000"),
    (["train", "DATA", "--learning-rate", "nan"], "--learning-rate must be more than 0 and less than 10"),
    (["train", "DATA", "--learning-rate", "inf"], "--learning-rate must be more than 0 and less than 10"),
    (["train", "DATA", "--fine-tune-epochs", "-1"], "--fine-tune-epochs must be between 0 and 10000"),
    (["predict", "MODEL", "x.png", "--top-k", "0"], "--top-k must be between 1 and 1000"),
    (["predict", "MODEL", "x.png", "--top-k", "-1"], "--top-k must be between 1 and 1000"),
    (["predict", "MODEL", "x.png", "--low-confidence", "2"], "--low-confidence must be between 0 and 1"),
    (["predict", "MODEL", "x.png", "--low-confidence", "nan"], "--low-confidence must be between 0 and 1"),
    (["predict", "MODEL", "x.png", "--batch-size", "0"], "--batch-size must be between 1 and 1024"),
    (["evaluate", "MODEL", "--batch-size", "-1"], "--batch-size must be between 1 and 1024"),
    (["split", "DATA", "--val", "0"], "--val must be more than 0 and less than 0.9"),
    (["split", "DATA", "--test", "nan"], "--test must be at least 0 and less than 0.9"),
    (["compare", "DATA", "--seed", "-1"], "--seed must be between 0 and 4294967295"),
    (["train", "DATA", "--out", "OUT\x00x"], "--out holds a NUL character"),
    (["train", "DATA", "--search", "thorough"], "--search: invalid choice: 'thorough'"),
]


@pytest.mark.parametrize("argv, words", REGRESSIONS)
def test_values_users_met_are_messages(tmp_path, monkeypatch, argv, words):
    monkeypatch.chdir(tmp_path)
    fill = {"DATA": str(tmp_path / "data"), "MODEL": str(tmp_path / "run")}
    argv = [fill.get(a, a).replace("OUT", str(tmp_path / "out")) for a in argv]
    if "--out" not in argv and argv[0] in ("train", "compare"):
        argv += ["--out", str(tmp_path / "out" / "run")]
    rc, err, tb = _run(argv)
    assert tb is None, tb
    assert rc == 2 and words in err, err
    assert list(tmp_path.iterdir()) == []
