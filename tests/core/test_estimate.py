"""The time estimate said before a run starts: it scales with the images and the passes, each search costs no less
than the one below it, the words stay rounded, and a speed this machine measured replaces the default."""

from __future__ import annotations

import json
import re

import pytest

from foveal.core.models.registry import get_backbone
from foveal.core.training.config import TrainConfig
from foveal.core.training.estimate import SpeedBook, about, default_speed, estimate_run, remember_run
from foveal.core.training.passes import Pass

IMAGENET = "imagenet"


def _book(tmp_path) -> SpeedBook:
    """No speeds remembered: the defaults."""
    return SpeedBook(tmp_path / "speeds.json", {})


def _config(**kw) -> TrainConfig:
    return TrainConfig("unused", **kw)


def test_twice_the_images_take_about_twice_the_reading(tmp_path):
    book = _book(tmp_path)
    one = estimate_run(_config(search="quick"), [300] * 500, 500, book=book)
    two = estimate_run(_config(search="quick"), [300] * 1000, 1000, book=book)
    assert two.extraction == pytest.approx(2 * one.extraction)
    assert one.total < two.total <= 2 * one.total  # starting does not double


def test_an_extra_pass_costs_its_cost_times_the_runs_own_pass(tmp_path):
    sides = [1000] * 200  # large images: every pass is supported
    estimate = estimate_run(_config(search="full"), sides, 200, book=_book(tmp_path))
    passes = dict(estimate.passes)
    assert passes["averaged over rotations and flips"] == pytest.approx(8 * estimate.extraction)
    assert passes["images at 336 px"] == pytest.approx(Pass(336).cost(224) * estimate.extraction)
    assert passes["tiles of 224 px at full resolution"] == pytest.approx(9 * estimate.extraction)
    assert estimate.total > estimate.extraction * (1 + 8 + 9 + 2.25)


@pytest.mark.parametrize("n", [20, 300, 3000, 50_000])
@pytest.mark.parametrize("side", [100, 300, 1000])
def test_quick_takes_no_longer_than_thorough_and_thorough_no_longer_than_everything(tmp_path, n, side):
    estimate = estimate_run(_config(), [side] * n, n, book=_book(tmp_path))
    assert estimate.of("quick") <= estimate.of("auto") <= estimate.of("full")
    assert estimate.total == estimate.of("auto")


def test_no_pretrained_weights_or_the_manual_recipe_make_no_extra_passes(tmp_path):
    manual = estimate_run(_config(recipe="manual"), [1000] * 100, 100, book=_book(tmp_path))
    assert manual.passes == () and manual.of("quick") == manual.of("full")


def test_fine_tuning_adds_epochs_times_the_training_images(tmp_path):
    book = _book(tmp_path)
    frozen = estimate_run(_config(), [200] * 1000, 1000, n_train=700, book=book)
    tuned = estimate_run(_config(fine_tune="last:2", fine_tune_epochs=10), [200] * 1000, 1000, n_train=700,
                         book=book)
    longer = estimate_run(_config(fine_tune="last:2", fine_tune_epochs=20), [200] * 1000, 1000, n_train=700,
                          book=book)
    assert frozen.fine_tune == 0 and tuned.fine_tune > 0
    assert longer.fine_tune == pytest.approx(2 * tuned.fine_tune)
    assert "fine-tuning" in tuned.plain() and "fine-tuning" not in frozen.plain()


def test_a_larger_backbone_or_input_is_slower_by_default():
    mobile, resnet = get_backbone("MobileNetV2"), get_backbone("ResNet50")
    assert default_speed(resnet, 224) > 1.5 * default_speed(mobile, 224)
    assert default_speed(mobile, 448) > 3 * default_speed(mobile, 224)


def test_the_words_are_rounded_and_name_what_is_left_out(tmp_path):
    # 5,000 large images: "auto" keeps what fits its budget and leaves the costly passes out
    estimate = estimate_run(_config(), [1000] * 5000, 5000, book=_book(tmp_path))
    words = estimate.plain()
    assert words.startswith("About ") and "reading every image once (about" in words
    assert "Left out to stay within the time budget:" in words and "--search full adds them" in words
    assert estimate.left_out and all(name in words for name, _ in estimate.left_out)
    assert "A quick search takes about" in words and "--search quick" in words
    assert all(int(s) % 10 == 0 and int(s) < 60 for s in re.findall(r"(\d+) s\b", words))  # never "137 s"
    assert "--search" not in estimate.plain(hints=False)


@pytest.mark.parametrize(("seconds", "words"), [
    (3, "a few seconds"), (24, "about 20 s"), (61, "about 1 min"), (359, "about 6 min"), (3600 * 1.6, "about 1.5 h"),
    (3600 * 30.2, "about 30 h")])
def test_about_rounds_as_a_person_says_it(seconds, words):
    assert about(seconds) == words
    assert about(seconds, start=True) == words[0].upper() + words[1:]


def test_a_speed_remembered_replaces_the_default_and_is_scaled_to_another_size(tmp_path):
    path = tmp_path / "speeds.json"
    SpeedBook.load(path).remember("MobileNetV2", 224, "auto", 0.5)
    book = SpeedBook.load(path)
    estimate = estimate_run(_config(), [300] * 100, 100, book=book)
    assert estimate.remembered and estimate.extraction == pytest.approx(50)
    larger = estimate_run(_config(image_size=448), [300] * 100, 100, book=book)
    assert larger.extraction > 2 * estimate.extraction  # measured at 224 px, scaled by the pixels
    assert not estimate_run(_config(backbone="ResNet50"), [300] * 100, 100, book=book).remembered


def test_a_damaged_speeds_file_means_the_defaults(tmp_path):
    path = tmp_path / "speeds.json"
    path.write_text('{"speeds": {"MobileNetV2@224/auto": ["fast", -1, 1e9]}, "x": [')
    assert SpeedBook.load(path).speeds == {}
    path.write_text(json.dumps({"speeds": {"MobileNetV2@224/auto": ["fast", -1, 1e9, 0.2]}}))
    assert SpeedBook.load(path).speeds == {"MobileNetV2@224/auto": [0.2]}


def test_a_finished_run_remembers_its_speed_for_the_next_estimate(tmp_path):
    from foveal.core.training import train
    from tests import factory

    data = factory.make_class_folder(tmp_path / "data", {"a": 60, "b": 60}, size=40)
    config = TrainConfig(str(data), weights=factory.real_weights(), image_size=32, epochs=1, search="quick",
                         recipe="manual", out_dir=str(tmp_path / "run"))
    result = train(config)
    book = SpeedBook.load(tmp_path / "speeds.json")
    per_image = remember_run(result.run_dir, book)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert per_image == pytest.approx(run["timings"]["extract_features"] / 120)
    again = estimate_run(config, [40] * 120, 120, book=SpeedBook.load(tmp_path / "speeds.json"))
    assert again.remembered and again.extraction == pytest.approx(per_image * 120)


def test_the_command_line_says_the_estimate_before_any_image_is_read(tmp_path, capsys):
    from foveal.core.cli import main as cli_main
    from tests import factory

    data = factory.make_class_folder(tmp_path / "data", {"a": 8, "b": 8}, size=48)
    args = ["train", str(data), "--weights", factory.real_weights(), "--image-size", "32", "--epochs", "1"]
    assert cli_main([*args, "--out", str(tmp_path / "events"), "--json-events"]) == 0
    kinds = [json.loads(line)["event"] for line in capsys.readouterr().out.splitlines()]
    assert kinds.count("RunEstimated") == 1
    assert kinds.index("RunEstimated") < kinds.index("FeaturesExtracting")
    assert kinds.index("RunEstimated") < kinds.index("TrainingStarted")
    assert cli_main([*args, "--out", str(tmp_path / "quick"), "--search", "quick"]) == 0
    err = capsys.readouterr().err
    estimate = err.index("About ") if "About " in err else err.index("A few seconds")
    assert estimate < err.index("Extracting features")
    said = err[estimate:err.index("Loading ", estimate)].splitlines()  # the estimate, then the backbone loads
    assert said and all(len(line) <= 80 for line in said) and "in all:" in said[0]
    assert "Not tried in a quick search:" in " ".join(said)
    run = json.loads((tmp_path / "quick" / "run.json").read_text())
    assert run["recipe"]["passes"]["search"] == "quick" and run["recipe"]["passes"]["made"] == []
    auto = json.loads((tmp_path / "events" / "run.json").read_text())
    # 48-px images at 32 px support a larger size and the rotations, but 16 images are too few to tell them apart
    assert auto["recipe"]["passes"]["made"] == [] and auto["recipe"]["passes"]["left_out"]
    assert auto["recipe"]["passes"]["why_left_out"].startswith("Not tried with under 100 images")


def test_search_given_on_the_command_line_replaces_a_config_files(tmp_path):
    from foveal.core.cli.main import build_parser
    from foveal.core.cli.train import _config_from_args

    path = tmp_path / "run_config.json"
    path.write_text(json.dumps({"data_dir": str(tmp_path), "search": "full"}))
    parser = build_parser()
    assert _config_from_args(parser.parse_args(["train", "--config", str(path)])).search == "full"
    given = parser.parse_args(["train", "--config", str(path), "--search", "quick"])
    assert _config_from_args(given).search == "quick"
    assert _config_from_args(parser.parse_args(["train", str(tmp_path)])).search == "auto"
