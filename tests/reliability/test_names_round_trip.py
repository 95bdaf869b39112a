"""Class names a person can give a folder (any Unicode but control characters: quotes, commas, markup, right-to-
left marks, emoji, leading dashes, spaces at the ends) come back unchanged from every writer: the split CSV, the
prediction CSV, evaluation.json, the report, the export's labels.txt and its check, and ``foveal predict`` on the
exported model. The names are generated; each case is one real tiny training run."""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from tests import factory
from tests.reliability.conftest import run_cli

#: What a folder name can hold that Foveal must carry through: no "/" or NUL (the file system refuses them), no
#: control or unpaired surrogate characters (the scan refuses those, naming them), and not hidden (".x" is skipped
#: as a system file would be, by design).
class_name = st.text(st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"), exclude_characters="/\x00"),
                     min_size=1, max_size=24).filter(
    lambda s: not s.startswith((".", "~$")) and s.lower() not in ("thumbs.db", "desktop.ini", "ehthumbs.db")
    and len(s.encode("utf-8")) <= 200)


def _three_names():
    return st.lists(class_name, min_size=3, max_size=3, unique_by=lambda s: s.casefold())


@pytest.mark.parametrize("n", [pytest.param(0, id="default"), pytest.param(4, id="long", marks=pytest.mark.slow)])
def test_generated_class_names_round_trip_through_every_writer(n, tmp_path_factory):
    """The default run trains once, on the kept example; ``-m slow`` trains on four generated sets of names."""
    weights = factory.real_weights()

    @seed(31)
    @settings(max_examples=max(n, 1), deadline=None, database=None, suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate] if n else [Phase.explicit])
    @given(names=_three_names())
    @example(names=['a,"b"', "<img src=x onerror=alert(1)>", "\u202eevil \U0001f9ea "])
    def attack(names):
        base = tmp_path_factory.mktemp("names")
        data = factory.make_class_folder(base / "data", {name: 8 for name in names}, size=32)
        run = base / "run"
        # The fixed head: names are what is tested here, not the recipe (the generated suite trains with it).
        outcome = run_cli("train", data, "--out", run, "--epochs", "1", "--image-size", "32", "--weights", weights,
                          "--recipe", "manual")
        assert outcome.rc == 0, outcome.traceback or outcome.err
        classes = json.loads((run / "run.json").read_text(encoding="utf-8"))["classes"]
        assert sorted(classes) == sorted(names)
        _through_csv_writers(run, data, base, set(names))
        _through_report_and_export(run, base, names)

    attack()


def _read_csv(path: Path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _through_csv_writers(run: Path, data: Path, base: Path, names: set[str]) -> None:
    assert run_cli("split", data, "--csv", base / "split.csv").rc == 0
    assert {r["class"] for r in _read_csv(base / "split.csv")} == names
    assert run_cli("predict", run, data, "--csv", base / "p.csv").rc == 0
    rows = _read_csv(base / "p.csv")
    assert rows and {r["predicted_class"] for r in rows if r.get("predicted_class")} <= names
    assert {Path(r["path"]).parent.name for r in rows} == names
    assert run_cli("evaluate", run, data, "--out", base / "eval").rc == 0
    evaluation = json.loads((base / "eval" / "evaluation.json").read_text(encoding="utf-8"))
    assert set(evaluation["classes"]) == names


def _through_report_and_export(run: Path, base: Path, names: list[str]) -> None:
    assert run_cli("report", run, "--out", base / "report").rc == 0
    page = (base / "report" / "report.html").read_text(encoding="utf-8")
    for name in names:
        assert html.escape(name) in page
    assert "<img src=x" not in page
    exported = run_cli("export", run, "--format", "keras", "--out", base / "export")
    assert exported.rc == 0, exported.traceback or exported.err
    labels = (base / "export" / "labels.txt").read_text(encoding="utf-8").split("\n")
    assert [line for line in labels if line] == json.loads((run / "run.json").read_text())["classes"]
    model = next((base / "export").glob("*.keras"))
    again = run_cli("predict", model, run.parent / "data", "--csv", base / "again.csv")
    assert again.rc == 0, again.traceback or again.err
    assert {r["predicted_class"] for r in _read_csv(base / "again.csv") if r.get("predicted_class")} <= set(names)
