"""Generated attacks through every command, in this process: trees of arbitrary names, links and special files;
every option at and beyond its boundaries; run folders and config files with each key deleted, retyped, nested
deeply or pointing outside their dataset. One invariant for all (:func:`tests.reliability.generated.check`).

The default run is short and repeatable (a fixed seed, a few dozen cases); ``pytest -m slow`` runs many more.
What a long run finds is kept below as explicit examples (``@example``), so it is tested every time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
from hypothesis import example, given, seed
from hypothesis import strategies as st

from tests import factory
from tests.reliability import generated as gen
from tests.reliability.conftest import run_cli

LENGTHS = [pytest.param(1, id="default"), pytest.param(12, id="long", marks=pytest.mark.slow)]


def _settings(n: int, scale: int):
    return gen.example_settings(n * scale)


@pytest.fixture(scope="module")
def one_class(tmp_path_factory) -> Path:
    """A folder with a single class: any command that gets past its options stops here, with a message."""
    return factory.make_class_folder(tmp_path_factory.mktemp("one") / "data", {"only": 6}, size=32)


# ----------------------------------------------------------------------------- trees of names, links, special files


@pytest.mark.parametrize("scale", LENGTHS)
def test_generated_trees_through_every_dataset_command(scale, area, trained_run):
    @seed(2026)
    @_settings(3, scale)
    @given(tree=gen.trees, match_run=st.booleans())
    @example(tree=([b"caf\xe9", b"new\nline"], [(0, gen.Entry((b"\xff.png",), "image:png8:none"))], []),
             match_run=False)
    @example(tree=([b"benign", b"malignant"], [(1, gen.Entry((b"p",), "fifo")),
                                               (0, gen.Entry((b"x.png",), "image:png16rgb:none"))], []),
             match_run=True)
    def attack(tree, match_run):
        root = area()
        if match_run:
            tree = ([b"benign", b"malignant"], *tree[1:])
        (root / "outside.png").write_bytes(gen.image_bytes("png8", 1))
        data, out = root / "data", root / "out"
        gen.write_tree(data, tree, root / "outside.png")
        for name, args in (("scan", ["scan", data]), ("scan --json", ["scan", data, "--json"]),
                           ("split --csv", ["split", data, "--csv", out / "split.csv"]),
                           ("predict --csv", ["predict", trained_run, data, "--csv", out / "p.csv"]),
                           ("evaluate DIR --out", ["evaluate", trained_run, data, "--out", out / "eval"])):
            with gen.Watch(root, [data], [out]) as watch:
                outcome = run_cli(*args)
            gen.check("tree", name, outcome, watch)
            if name == "predict --csv" and outcome.rc == 0:
                (out / "p.csv").read_bytes().decode("utf-8")  # every name written is readable back

    attack()


@pytest.mark.parametrize("scale", LENGTHS)
def test_generated_trees_through_training(scale, area):
    weights = factory.real_weights()

    @seed(7)
    @_settings(2, scale)
    @given(tree=gen.trees)
    def attack(tree):
        root = area()
        data, out = root / "data", root / "out"
        gen.write_tree(data, tree, root)
        with gen.Watch(root, [data], [out]) as watch:
            outcome = run_cli("train", data, "--out", out / "run", "--epochs", "1", "--image-size", "32",
                              "--weights", weights)
        gen.check("tree", "train", outcome, watch)
        if outcome.rc == 0:
            assert (out / "run" / "run.json").is_file()

    attack()


# ----------------------------------------------------------------------------- option values


def _value_texts() -> st.SearchStrategy[str]:
    boundary = st.sampled_from([-(2**64), -(2**31), -1, 0, 1, 2, 3, 10, 11, 31, 32, 255, 2048, 6000, 2**31, 2**32,
                                2**64, 10**20])
    return st.one_of(
        boundary.map(str), st.integers().map(str),
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["", " ", "nan", "-nan", "inf", "-inf", "1e309", "0.5", "1.0", "2", "-0", "0x10", "1_0",
                         "(a+)+$", "(", "\\1", "..", "/", "-", "a\nb", "\x00", "caf\udce9"]),
        st.text(max_size=12),
    )


#: Each option with the command it belongs to: (family label, argv before the option, the option).
OPTIONS = [
    ("train", "--epochs"), ("train", "--fine-tune-epochs"), ("train", "--seed"), ("train", "--batch-size"),
    ("train", "--learning-rate"), ("train", "--image-size"), ("train", "--folds"), ("train", "--fine-tune"),
    ("train", "--backbone"), ("train", "--group-pattern"), ("train", "--weights"), ("train", "--split-file"),
    ("train", "--devices"), ("split", "--val"), ("split", "--test"), ("split", "--seed"),
    ("split", "--group-pattern"), ("compare", "--backbones"), ("compare", "--seed"),
    ("predict", "--top-k"), ("predict", "--low-confidence"), ("predict", "--batch-size"),
    ("evaluate", "--batch-size"), ("evaluate", "--positive-class"), ("export", "--out"), ("report", "--out"),
]


def _argv(command: str, option: str, value: str, run: Path, data: Path, out: Path) -> list:
    if command == "train":
        extra = ["--group-by", "filename"] if option == "--group-pattern" else []
        return ["train", data, "--out", out / "run", "--epochs", "1", "--image-size", "32", *extra, option, value]
    if command == "split":
        extra = ["--group-by", "filename"] if option == "--group-pattern" else []
        return ["split", data, *extra, option, value]
    if command == "compare":
        return ["compare", data, "--out", out / "compare.json", option, value]
    if command == "predict":
        return ["predict", run, data, option, value]
    if command == "evaluate":
        return ["evaluate", run, option, value, *(["--out", out / "eval"] if option != "--out" else [])]
    if command == "export":
        return ["export", run, "--format", "keras", option, value]
    return ["report", run, option, value]


@pytest.mark.parametrize("scale", LENGTHS)
def test_generated_option_values(scale, area, trained_run, one_class):
    """Past its options, a command on a one-class folder stops with the dataset's message; so a value it takes is
    checked as fully as one it refuses, in seconds. Path options are the chosen output, wherever they point."""

    @seed(11)
    @_settings(24, scale)
    @given(choice=st.sampled_from(OPTIONS), value=_value_texts())
    @example(choice=("train", "--folds"), value="0")
    @example(choice=("train", "--seed"), value="-1")
    @example(choice=("train", "--seed"), value=str(10**20))
    @example(choice=("train", "--image-size"), value="6000")
    @example(choice=("predict", "--top-k"), value="0")
    @example(choice=("predict", "--low-confidence"), value="nan")
    @example(choice=("export", "--out"), value="/")
    @example(choice=("split", "--group-pattern"), value="(a+)+$")
    def attack(choice, value):
        command, option = choice
        root = area()
        out = root / "out"
        data = one_class if command in ("train", "split", "compare") else factory.make_class_folder(
            root / "images", {"benign": 1, "malignant": 1}, size=32)
        outputs = [out, root / "images"]
        if option in ("--out", "--csv") and "\x00" not in value:
            outputs.append(Path(os.path.abspath(value)) if value.strip() else root)
        if option == "--out" and value.strip() in ("", "/", "."):
            outputs = [out, root / "images", root / "_"]  # nothing may be written for these
        with gen.Watch(root, [data], outputs) as watch:
            outcome = run_cli(*_argv(command, option, value, trained_run, data, out))
        gen.check("option", f"{command} {option}", outcome, watch, names=lambda m: _names(m, option))

    attack()


def _names(message: str, option: str) -> bool:
    """The message names the option (as typed, or in words: 'fine-tune depth' for --fine-tune), or is argparse's
    usage, or is the one-class folder's message (the option was taken)."""
    def squash(text: str) -> str:
        return re.sub(r"[-_ ]", "", text.lower())

    words = ("folder", "file") if option in ("--out", "--csv") else ()
    return (squash(option) in squash(message) or "usage:" in message or "class" in message.lower()
            or any(w in message.lower() for w in words))


# ----------------------------------------------------------------------------- run folders and config files


def _paths(value, prefix=()) -> list[tuple]:
    """Every key path in a JSON value (lists: their first two items)."""
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value[:2]):
            out += _paths(v, (*prefix, i))
    return out


NEST = "@@foveal-nest@@"


def _mutate(doc, path: tuple, op: str, payload) -> str:
    """``doc`` as JSON text with the value at ``path`` deleted, replaced, nested ``payload`` lists deep (written
    as text: Python's own encoder cannot go that deep) or replaced by a path that leaves its dataset."""
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key, nested = path[-1], None
    if op == "delete":
        del parent[key]
    elif op == "nest":
        nested, parent[key] = parent[key], NEST
    else:
        parent[key] = payload
    text = json.dumps(doc)
    if nested is not None:
        text = text.replace(json.dumps(NEST), "[" * payload + json.dumps(nested) + "]" * payload)
    return text


PAYLOADS = st.one_of(st.none(), st.integers(-5, 10**20), st.floats(allow_nan=True), st.text(max_size=8),
                     st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(),
                                                                          max_size=2), st.booleans())
ESCAPES = st.sampled_from(["../outside.png", "../../outside.png", "/etc/passwd", "a\x00b.png", "C:\\x.png",
                           "benign/../../outside.png", "", ".", "~/x.png"])


def _op():
    return st.one_of(st.tuples(st.just("delete"), st.none()), st.tuples(st.just("retype"), PAYLOADS),
                     st.tuples(st.just("nest"), st.sampled_from([2, 50, 5000])),
                     st.tuples(st.just("escape"), ESCAPES))


@pytest.mark.parametrize("scale", LENGTHS)
def test_generated_run_folders_through_every_run_command(scale, area, trained_run):
    run_json = json.loads((trained_run / "run.json").read_text(encoding="utf-8"))
    key_paths = _paths(run_json)

    @seed(5)
    @_settings(5, scale)
    @given(path=st.sampled_from(key_paths), op=_op(), command=st.sampled_from(["evaluate", "predict", "report",
                                                                               "export", "train --config"]))
    @example(path=("split", "test", 0, "file"), op=("escape", "../../outside.png"), command="report")
    @example(path=("split", "test", 0, "class"), op=("delete", None), command="evaluate")
    @example(path=("classes",), op=("nest", 5000), command="predict")
    def attack(path, op, command):
        root = area()
        (root / "outside.png").write_bytes(gen.image_bytes("png8", 3))
        run, out = root / "run", root / "out"
        shutil.copytree(trained_run, run)
        (run / "run.json").write_text(_mutate(json.loads(json.dumps(run_json)), path, *op), encoding="utf-8")
        data = Path(run_json["dataset"]["root"])
        args = {"evaluate": ["evaluate", run, "--out", out],
                "predict": ["predict", run, root / "outside.png"],
                "report": ["report", run, "--out", out],
                "export": ["export", run, "--format", "keras", "--out", out / "x"],
                "train --config": ["train", "--config", run / "run.json", "--out", out / "again", "--epochs", "1"]}
        with gen.Watch(root, [], [out, run]) as watch, gen.Watch(data, [data]) as dataset:
            outcome = run_cli(*args[command])
        gen.check("run folder", command, outcome, watch, allow_rc=(0, 1, 2))
        assert not dataset.changed()
        if outcome.rc == 0 and command == "report":
            html = (out / "report.html").read_text(encoding="utf-8")
            assert "outside.png" not in html or op[0] != "escape", "a file outside the dataset went into the report"

    attack()


@pytest.mark.parametrize("scale", LENGTHS)
def test_generated_config_files(scale, area, trained_run, one_class):
    config = json.loads((trained_run / "run_config.json").read_text(encoding="utf-8"))
    key_paths = _paths(config)

    @seed(9)
    @_settings(12, scale)
    @given(path=st.sampled_from(key_paths), op=_op())
    @example(path=("epochs",), op=("nest", 5000))
    def attack(path, op):
        root = area()
        (root / "config.json").write_text(_mutate(json.loads(json.dumps(config)), path, *op), encoding="utf-8")
        with gen.Watch(root, [one_class], [root / "out"]) as watch:
            outcome = run_cli("train", "--config", root / "config.json", one_class, "--out", root / "out" / "r")
        gen.check("config file", "train --config", outcome, watch)

    attack()


@pytest.mark.parametrize("scale", LENGTHS)
def test_generated_project_files(scale, area, trained_run, one_class, tmp_path):
    """project.json, damaged each way, through ``train --config`` and what the window does on opening it (load,
    list its runs, compare its file list with the folder): success or a message."""
    from foveal.core.data.scan import scan_dataset
    from foveal.core.errors import FovealError
    from foveal.core.project import create_project, dataset_changes, file_state, list_runs, load_project, save_project

    def project_json(folder: Path) -> dict:
        project = create_project(folder, one_class)
        project.settings = {"epochs": 1, "image_size": 32, "backbone": "MobileNetV2"}
        project.files = file_state(scan_dataset(one_class))
        project.run_meta = {"elsewhere": {"path": str(trained_run), "name": "first", "note": "a, \"note\""}}
        save_project(project)
        return json.loads((folder / "project.json").read_text(encoding="utf-8"))

    template = project_json(tmp_path / "template")
    key_paths = _paths(template)

    @seed(13)
    @_settings(10, scale)
    @given(path=st.sampled_from(key_paths), op=_op())
    @example(path=("runs", "elsewhere"), op=("retype", 3))
    @example(path=("runs", "elsewhere", "path"), op=("retype", 4462))  # found by a long run: a TypeError
    @example(path=("dataset", "files"), op=("nest", 5000))
    def attack(path, op):
        root = area()
        folder = root / "project"
        project_json(folder)
        (folder / "project.json").write_text(_mutate(json.loads(json.dumps(template)), path, *op), encoding="utf-8")
        with gen.Watch(root, [one_class], [root / "out", folder]) as watch:
            outcome = run_cli("train", "--config", folder / "project.json", "--out", root / "out" / "r")
            try:
                project = load_project(folder)
                list_runs(project)
                dataset_changes(project, scan_dataset(one_class))
            except FovealError:
                pass
        gen.check("project file", "train --config", outcome, watch)

    attack()


def test_print_the_tally(capsys):
    """With ``-s``: how many cases each family sent through each command (runs last in this file)."""
    with capsys.disabled():
        print("\n" + "\n".join(gen.tally_lines()))
    assert all(n > 0 for n in gen.TALLY.values()) or not gen.TALLY
