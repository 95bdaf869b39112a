"""`foveal train`, `foveal backbones`: the command line over the same core functions."""

from __future__ import annotations

import json

import pytest

from core.cli import main as cli_main
from tests.factory import real_weights


def test_train_json_events_and_run_folder(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "run"
    code = cli_main(["train", str(tiny_dataset), "--weights", real_weights(), "--image-size", "32", "--epochs", "2",
                     "--batch-size", "8", "--out", str(out), "--json-events", "--recipe", "manual"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in lines]
    assert kinds[0] == "PhaseChanged" and kinds[-1] == "TrainingFinished"
    assert kinds.count("EpochEnded") == 2 and "BatchesEnded" in kinds and "FeaturesExtracting" in kinds
    assert lines[-1]["outcome"] == "completed" and lines[-1]["model_path"] == str(out / "model.keras")
    assert (out / "model.keras").exists() and json.loads((out / "run.json").read_text())["outcome"] == "completed"


def test_train_from_config_file_and_bad_setting(tiny_dataset, tmp_path, capsys):
    config = {"data_dir": str(tiny_dataset), "weights": real_weights(), "image_size": 32, "epochs": 1,
              "out_dir": str(tmp_path / "run")}
    path = tmp_path / "run_config.json"
    path.write_text(json.dumps(config))
    assert cli_main(["train", "--config", str(path)]) == 0
    err = capsys.readouterr().err
    assert "Test accuracy" in err and "Run folder" in err  # the terminal summary
    assert "held-out test images right (95% interval" in err and "Always answering '" in err
    path.write_text(json.dumps({**config, "epoch": 3}))
    assert cli_main(["train", "--config", str(path)]) == 2
    assert "Unknown setting(s) epoch" in capsys.readouterr().err
    # every run leaves its settings beside it: the same run again elsewhere, as on a server
    saved = tmp_path / "run" / "run_config.json"
    assert json.loads(saved.read_text())["data_dir"] == str(tiny_dataset)
    again = tmp_path / "server-run"
    assert cli_main(["train", "--config", str(saved), "--out", str(again), "--devices", "cpu"]) == 0
    run = json.loads((again / "run.json").read_text())
    assert run["config"]["devices"] == "cpu" and run["config"]["epochs"] == 1
    assert run["devices"]["description"] == "CPU"


def test_config_from_a_run_json_or_a_project(tiny_dataset, tmp_path):
    from core.config_file import load_config_file
    from core.data.scan import scan_dataset
    from core.project import create_project, fix_split, save_project
    from core.split.make import make_split

    run = {"format": "foveal-run", "config": {"data_dir": "/laptop/data", "backbone": "ResNet50", "epochs": 7}}
    (tmp_path / "run.json").write_text(json.dumps(run))
    config = load_config_file(tmp_path / "run.json", data_dir=str(tiny_dataset), overrides={"distribute": "none"})
    assert (config.data_dir, config.backbone, config.epochs, config.distribute) == (
        str(tiny_dataset), "ResNet50", 7, "none")
    project = create_project(tmp_path / "proj", tiny_dataset)
    project.settings = {"backbone": "VGG16", "epochs": 3, "seed": 9}
    save_project(project)
    summary = scan_dataset(tiny_dataset)
    fix_split(project, summary, make_split(summary, 0.2, 0.2, 9))
    config = load_config_file(tmp_path / "proj" / "project.json")
    assert (config.data_dir, config.backbone, config.seed) == (str(tiny_dataset), "VGG16", 9)
    assert config.split_file == str(tmp_path / "proj" / "split.json")
    assert config.out_dir.startswith(str(tmp_path / "proj" / "runs"))


@pytest.mark.parametrize("text, words", [("{oops", "not valid JSON"), ("[1, 2]", "JSON object"),
                                         ('{"epochs": 2}', "names no dataset folder")])
def test_bad_config_files_are_explained(tmp_path, text, words):
    from core.config_file import load_config_file
    from core.errors import ConfigError

    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(ConfigError, match=words):
        load_config_file(path)
    with pytest.raises(ConfigError, match="Cannot read the config file"):
        load_config_file(tmp_path / "missing.json")


def test_train_reports_bad_backbone_plainly(tiny_dataset, capsys):
    assert cli_main(["train", str(tiny_dataset), "--backbone", "ResNet05"]) == 2
    assert "Did you mean ResNet50" in capsys.readouterr().err


def test_backbones_listing(capsys):
    assert cli_main(["backbones", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 39 and sum(r["recommended"] for r in rows) == 1
    assert cli_main(["backbones"]) == 0
    assert "MobileNetV2 *" in capsys.readouterr().out
