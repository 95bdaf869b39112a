"""Generated inputs through `foveal suggest` and `foveal label-import`, with the one invariant of every command
(tests.reliability.generated.check): success or exit 2 with a message, the folders read unchanged, nothing written
outside the chosen output."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

from hypothesis import example, given, seed
from hypothesis import strategies as st

from tests import factory
from tests.reliability import generated as gen
from tests.reliability.conftest import run_cli

_settings = gen.example_settings


_sources = st.sampled_from(["images/a.png", "images/b.png", "{abs}/images/a.png", "missing.png", "images",
                            "data/red/red_000.png", "", " ", "../outside.png", "images/a.png\n"])
_labels = st.one_of(st.sampled_from(["red", "green", "new class", "", "..", "a/b", "CON", "red ", "x\ty"]),
                    st.text(max_size=8))
_rows = st.lists(st.tuples(_sources, _labels), max_size=6)
_headers = st.sampled_from([("source", "label"), ("label", "source", "status"), ("path", "label"), ("source",),
                            ("SOURCE", "Label", "confidence")])


def _labels_file(path: Path, header: tuple[str, ...], rows, root: Path, raw: bytes | None) -> None:
    if raw is not None:
        path.write_bytes(raw)
        return
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    for source, label in rows:
        cells = {"source": source.replace("{abs}", str(root)), "label": label, "confidence": "0.5x"}
        writer.writerow([cells.get(h.lower(), "") for h in header])
    path.write_text(buf.getvalue(), encoding="utf-8", errors="surrogateescape")


def test_generated_labels_files_through_label_import(area):
    @seed(31)
    @_settings(25)
    @given(header=_headers, rows=_rows, raw=st.one_of(st.none(), st.binary(max_size=40)))
    @example(header=("source", "label"), rows=[("images/a.png", "red"), ("images/a.png", "green")], raw=None)
    @example(header=("label", "source", "status"), rows=[("{abs}/images/a.png", "red"), ("images/b.png", "")],
             raw=None)
    @example(header=("source", "label"), rows=[("images/a.png", "new class"), ("images", "red")], raw=None)
    def attack(header, rows, raw):
        root = area()
        data = factory.make_class_folder(root / "data", {"red": 2, "green": 2}, size=24)
        (root / "images").mkdir()
        for name in ("a.png", "b.png"):
            (root / "images" / name).write_bytes(gen.image_bytes("png8", len(name)))
        (root / "outside.png").write_bytes(gen.image_bytes("png8", 3))
        labels, out = root / "labels.csv", root / "out"
        _labels_file(labels, header, rows, root, raw)
        with gen.Watch(root, [data], [out]) as watch:
            outcome = run_cli("label-import", data, labels, "--out", out)
        gen.check("labels", "label-import", outcome, watch)
        results.append(outcome.rc)
        if outcome.rc == 0:
            assert (out / "labels.csv").is_file()
            assert sum(1 for _ in os.scandir(out / "red")) >= 2

    results: list[int | None] = []
    attack()
    assert 0 in results and 2 in results, results  # both ways out were taken


def test_generated_trees_through_suggest(area):
    weights = factory.real_weights()

    @seed(2031)
    @_settings(3)
    @given(tree=gen.trees, n=st.sampled_from(["1", "3", "100000"]))
    @example(tree=([b"caf\xe9", b"new\nline"], [(0, gen.Entry((b"\xff.png",), "image:png8:none"))], []), n="2")
    def attack(tree, n):
        root = area()
        data = factory.make_class_folder(root / "data", {"red": 2, "green": 2}, size=32)
        unlabelled, out = root / "unlabelled", root / "out"
        gen.write_tree(unlabelled, tree, root / "data")
        with gen.Watch(root, [data, unlabelled], [out]) as watch:
            outcome = run_cli("suggest", data, unlabelled, "--n", n, "--csv", out / "next.csv", "--weights", weights)
        gen.check("tree", "suggest", outcome, watch)
        if outcome.rc == 0:
            (out / "next.csv").read_bytes().decode("utf-8")  # every name written is readable back

    attack()
