"""`foveal train`, `foveal backbones`: the command line over the same core functions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foveal.core.cli import main as cli_main
from foveal.core.errors import ConfigError
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


def test_json_events_carry_the_warnings_about_the_data_and_the_plan_the_recipe_chose(tiny_dataset, tmp_path,
                                                                                        capsys):
    import numpy as np
    from PIL import Image

    Image.fromarray(np.full((40, 40, 3), 7, np.uint8)).save(tiny_dataset / "red" / "red_blank.png")
    code = cli_main(["train", str(tiny_dataset), "--weights", real_weights(), "--image-size", "32", "--epochs", "2",
                     "--batch-size", "8", "--out", str(tmp_path / "run"), "--json-events"])
    assert code == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    (warning,) = [e for e in lines if e["event"] == "DataWarning"]
    assert warning["phase"] == "extracting" and "red/red_blank.png" in warning["message"]
    (chosen,) = [e for e in lines if e["event"] == "RecipeChosen"]
    assert chosen["head"] in ("linear", "dense") and chosen["steps_per_epoch"] == 3 and chosen["step_offset"] == 0
    assert chosen["epochs"] == (0 if chosen["head"] == "linear" else 2)
    assert not any(e["event"] == "PhaseChanged" and e["description"].startswith("Warning") for e in lines)


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
    from foveal.core.config_file import load_config_file
    from foveal.core.data.scan import scan_dataset
    from foveal.core.project import create_project, fix_split, save_project
    from foveal.core.split.make import make_split

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
    from foveal.core.config_file import load_config_file
    from foveal.core.errors import ConfigError

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


# ---- every option checked before anything is made (issue 26) ---------------------------------------------------

def _train_refused(tiny_dataset, tmp_path, capsys, *options: str) -> str:
    """Run `foveal train` with ``options`` (otherwise a valid quick run); assert it ended with exit code 2 before
    the run folder's parent was made, and return what it said."""
    out = tmp_path / "runs" / "run"
    rc = cli_main(["train", str(tiny_dataset), "--weights", "none", "--fine-tune", "all", "--image-size", "32",
                   "--epochs", "1", "--out", str(out), *options])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert not out.parent.exists(), "a folder was made before the option was checked"
    return err


@pytest.mark.parametrize("k", ["0", "1", "-3", "11"])
def test_folds_outside_3_to_10_are_refused_not_an_ordinary_run(tiny_dataset, tmp_path, capsys, k):
    err = _train_refused(tiny_dataset, tmp_path, capsys, "--folds", k)
    assert f"--folds must be between 3 and 10. Received: --folds={k}" in err


@pytest.mark.parametrize("seed", ["-1", "12345678901234567890", "4294967296"])
def test_seeds_numpy_cannot_take_are_refused(tiny_dataset, tmp_path, capsys, seed):
    err = _train_refused(tiny_dataset, tmp_path, capsys, "--seed", seed)
    assert f"--seed must be between 0 and 4294967295. Received: --seed={seed}" in err


def test_the_largest_seed_is_accepted():
    from foveal.core.training.config import TrainConfig

    TrainConfig("data", seed=2**32 - 1, weights="none", fine_tune="all").check_limits()
    TrainConfig("data", seed=2**32 - 1).split_spec.validate()


@pytest.mark.parametrize("options, words", [
    (("--image-size", "6000"), "--image-size must be between 1 and 2048. Received: --image-size=6000"),
    (("--epochs", "0"), "--epochs must be between 1 and 10000"),
    (("--fine-tune-epochs", "-1"), "--fine-tune-epochs must be between 0 and 10000"),
    (("--learning-rate", "nan"), "--learning-rate must be more than 0 and less than 10"),
    (("--learning-rate", "inf"), "--learning-rate must be more than 0 and less than 10"),
    (("--batch-size", "0"), "--batch-size must be between 1 and 4096"),
    (("--weights", "/nowhere/weights.h5"), "Weights file /nowhere/weights.h5 does not exist"),
])
def test_out_of_range_train_options_are_refused(tiny_dataset, tmp_path, capsys, options, words):
    assert words in _train_refused(tiny_dataset, tmp_path, capsys, *options)


def test_fine_tuning_more_blocks_than_the_backbone_has_is_refused_before_loading_it(tiny_dataset, tmp_path, capsys):
    out = tmp_path / "run"
    rc = cli_main(["train", str(tiny_dataset), "--out", str(out), "--epochs", "1", "--image-size", "32",
                   "--weights", real_weights(), "--fine-tune", "last:99999"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert ("--fine-tune last:N: MobileNetV2 has 16 blocks, so N must be between 1 and 16. "
            "Received: last:99999") in err
    assert not out.exists(), "a folder was made before --fine-tune was checked"


def test_fine_tuning_every_block_by_number_passes_the_check(tiny_dataset):
    from foveal.core.training.config import TrainConfig

    TrainConfig(str(tiny_dataset), weights=real_weights(), fine_tune="last:16", image_size=32).validate()
    with pytest.raises(ConfigError, match="VGG16 has 5 blocks, so N must be between 1 and 5. Received: last:6"):
        TrainConfig(str(tiny_dataset), backbone="vgg16", weights=real_weights(), fine_tune="last:6",
                    image_size=32).validate()


def test_a_run_that_cannot_fit_in_memory_is_refused_with_sizes_that_fit(tiny_dataset, tmp_path, capsys):
    err = _train_refused(tiny_dataset, tmp_path, capsys, "--image-size", "2048", "--batch-size", "4096")
    assert "GB of memory; this computer has" in err and "GB available" in err
    assert "Received: image_size=2048, batch_size=4096" in err


def test_the_sizes_a_memory_refusal_suggests_fit():
    import re

    from foveal.core.errors import ConfigError
    from foveal.core.models.registry import get_backbone
    from foveal.core.training.memory import check_fits, estimate_bytes

    spec, have = get_backbone("ResNet50"), 4 << 30
    with pytest.raises(ConfigError) as info:
        check_fits(spec, 1024, 64, learns_all=True, available=have)
    words = str(info.value)
    assert "Training ResNet50 on 1024×1024-pixel images in batches of 64, every layer learning" in words
    batch = int(re.search(r"--batch-size (\d+)", words).group(1))
    size = int(re.search(r"--image-size (\d+)", words).group(1))
    assert estimate_bytes(spec, 1024, batch, learns_all=True) <= have < estimate_bytes(spec, 1024, 64,
                                                                                        learns_all=True)
    assert estimate_bytes(spec, size, 64, learns_all=True) <= have and size % 32 == 0
    check_fits(spec, 224, 32, available=have)  # a usual run fits in 4 GB


def _config_refused(tmp_path, data, words: str) -> None:
    from foveal.core.config_file import load_config_file
    from foveal.core.errors import ConfigError

    path = tmp_path / "c.json"
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(ConfigError, match=words) as info:
        load_config_file(path, data_dir=str(tmp_path))
    assert "\x00" not in str(info.value)


@pytest.mark.parametrize("data, words", [
    ("[" * 100_000 + "]" * 100_000, "is damaged: its JSON is nested far too deeply"),
    ({"epochs": "many"}, "Setting 'epochs' must be a whole number. Received: epochs='many'"),
    ({"seed": True}, "Setting 'seed' must be a whole number"),
    ({"learning_rate": [1]}, "Setting 'learning_rate' must be a number"),
    ({"epochs\x00": 3}, r"Unknown setting\(s\) 'epochs\\x00'"),
    ({"weights": "a\x00b"}, "Setting 'weights' holds a NUL character"),
    ({"seed": -1}, "In the config file .*seed must be between 0 and 4294967295. Received: seed=-1"),
    ('{"learning_rate": NaN}', "learning_rate must be more than 0 and less than 10. Received: learning_rate=nan"),
    ({"out_dir": "../../elsewhere/run"}, "out_dir '../../elsewhere/run' climbs out of its folder with '..'"),
    ({"split_file": "runs/../../split.json"}, "split_file 'runs/../../split.json' climbs out"),
    ({"split_file": "..\\split.json"}, "split_file .* climbs out"),
    (b'{"epochs": "\xff"}', "is not UTF-8 text: it is damaged or not a config file"),
])
def test_hostile_config_files_are_messages(tmp_path, data, words):
    _config_refused(tmp_path, data, words)


def test_a_config_file_that_is_no_regular_file_is_refused_without_opening_it(tmp_path, monkeypatch):
    import os

    from foveal.core import config_file
    from foveal.core.errors import ConfigError

    opened: list[str] = []
    real_open = os.open
    monkeypatch.setattr(os, "open", lambda p, *a, **k: opened.append(str(p)) or real_open(p, *a, **k))
    fifo = tmp_path / "fifo.json"
    if hasattr(os, "mkfifo"):
        os.mkfifo(fifo)
        with pytest.raises(ConfigError, match="not a regular file"):  # opening a FIFO would wait for a writer
            config_file.load_config_file(fifo)
    if os.path.exists("/dev/zero"):
        with pytest.raises(ConfigError, match="not a regular file"):  # reading it would never end
            config_file.load_config_file("/dev/zero")
    with pytest.raises(ConfigError, match="is a folder"):
        config_file.load_config_file(tmp_path)
    assert opened == []


def test_a_huge_config_file_is_refused_by_its_size_before_reading(tmp_path, monkeypatch):
    import os

    from foveal.core import config_file
    from foveal.core.errors import ConfigError

    path = tmp_path / "huge.json"
    with open(path, "wb") as fh:
        fh.truncate(config_file.MAX_CONFIG_BYTES + 1)  # sparse: costs no disk
    monkeypatch.setattr(os, "open", lambda *a, **k: pytest.fail("the huge file was opened"))
    with pytest.raises(ConfigError, match="a config file is at most 16 MB"):
        config_file.load_config_file(path)
    assert os.path.getsize(path) > config_file.MAX_CONFIG_BYTES


def test_a_hostile_config_file_through_the_command_line_makes_nothing(tiny_dataset, tmp_path, capsys):
    path = tmp_path / "c.json"
    out = tmp_path / "runs" / "run"
    path.write_text(json.dumps({"data_dir": str(tiny_dataset), "seed": 2**40, "out_dir": str(out)}))
    assert cli_main(["train", "--config", str(path)]) == 2
    assert "seed must be between 0 and 4294967295" in capsys.readouterr().err
    assert not out.parent.exists()


@pytest.mark.parametrize("weights", ["none", "missing.h5", "wrong"])
def test_the_demo_without_pretrained_weights_says_why_and_trains_nothing(weights, tmp_path, capsys):
    if weights == "wrong":  # MobileNet v1's weights for MobileNetV2
        weights = str(next(p for p in Path(real_weights()).parent.glob("mobilenet_v1*no_top*")))
    elif weights == "missing.h5":
        weights = str(tmp_path / "missing.h5")
    out = tmp_path / "demo-run"
    code = cli_main(["demo", "--weights", weights, "--out", str(out)])
    said = capsys.readouterr().err
    assert code == 2 and "would be a meaningless guess" in said and "--weights mobilenet_v2" in said
    assert not out.exists()  # two minutes of training from random weights were not spent


def test_train_help_puts_what_most_runs_need_first_and_ends_with_examples(capsys):
    with pytest.raises(SystemExit) as done:
        cli_main(["train", "--help"])
    text = capsys.readouterr().out
    assert done.value.code == 0
    groups = ["what most runs need:", "how the images are split", "advanced training settings", "devices ("]
    assert [text.index(g) for g in groups] == sorted(text.index(g) for g in groups)
    first = text[text.index(groups[0]):text.index(groups[1])]
    assert all(option in first for option in ("--backbone", "--fine-tune", "--weights", "--out", "--epochs"))
    assert "--batch-size" not in first
    assert text.rstrip().endswith("never in two splits; fine-tuning kept only if it helps")
    assert text.count("\n  foveal train ") == 3  # three worked examples
