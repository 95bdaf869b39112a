"""`foveal train`, `foveal backbones`: the command line over the same core functions."""

from __future__ import annotations

import json

from core.cli import main as cli_main


def test_train_json_events_and_run_folder(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "run"
    code = cli_main(["train", str(tiny_dataset), "--weights", "none", "--image-size", "32", "--epochs", "2",
                     "--batch-size", "8", "--out", str(out), "--json-events"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in lines]
    assert kinds[0] == "PhaseChanged" and kinds[-1] == "TrainingFinished"
    assert kinds.count("EpochEnded") == 2 and "BatchesEnded" in kinds and "FeaturesExtracting" in kinds
    assert lines[-1]["outcome"] == "completed" and lines[-1]["model_path"] == str(out / "model.keras")
    assert (out / "model.keras").exists() and json.loads((out / "run.json").read_text())["outcome"] == "completed"


def test_train_from_config_file_and_bad_setting(tiny_dataset, tmp_path, capsys):
    config = {"data_dir": str(tiny_dataset), "weights": "none", "image_size": 32, "epochs": 1,
              "out_dir": str(tmp_path / "run")}
    path = tmp_path / "run_config.json"
    path.write_text(json.dumps(config))
    assert cli_main(["train", "--config", str(path)]) == 0
    err = capsys.readouterr().err
    assert "Test accuracy" in err and "Run folder" in err  # the terminal summary
    path.write_text(json.dumps({**config, "epoch": 3}))
    assert cli_main(["train", "--config", str(path)]) == 2
    assert "Unknown setting(s) epoch" in capsys.readouterr().err


def test_train_reports_bad_backbone_plainly(tiny_dataset, capsys):
    assert cli_main(["train", str(tiny_dataset), "--backbone", "ResNet05"]) == 2
    assert "Did you mean ResNet50" in capsys.readouterr().err


def test_backbones_listing(capsys):
    assert cli_main(["backbones", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 39 and sum(r["recommended"] for r in rows) == 1
    assert cli_main(["backbones"]) == 0
    assert "MobileNetV2 *" in capsys.readouterr().out
