"""The Train view's search choice: quick / thorough / everything with the time each takes, what the thorough one
adds in words, the chosen search in the run's settings, and the run's own estimate said as it starts."""

from __future__ import annotations

from foveal.core.training.config import TrainConfig
from foveal.core.training.estimate import SpeedBook, estimate_run
from foveal.core.training.events import RunEstimated
from foveal.gui.widgets.search_choice import SearchChoice
from tests.gui.conftest import load


def test_the_three_choices_say_their_minutes_and_what_thorough_adds(qtbot, tmp_path):
    choice = SearchChoice()
    qtbot.addWidget(choice)
    book = SpeedBook(tmp_path / "speeds.json", {})
    estimate = estimate_run(TrainConfig("x"), [1000] * 3000, 3000, book=book)  # large images: every pass allowed
    choice.show_estimate(estimate)
    texts = {s: b.text() for s, b in choice.buttons.items()}
    assert texts["quick"].startswith("Quick (about ") and texts["quick"].endswith(" min)")
    assert texts["auto"].startswith("Thorough (about ") and texts["full"].startswith("Everything (about ")
    assert all(" min)" in t or " h)" in t for t in texts.values())
    words = choice.words.text()
    assert "Beyond the quick search: images at 336 px" in words and "Not tried:" in words and "2-core CPU" in words
    assert choice.chosen == "auto"
    with qtbot.waitSignal(choice.sig_changed):
        choice.buttons["full"].click()
    assert choice.chosen == "full"


def test_without_an_estimate_the_choice_says_why(qtbot):
    choice = SearchChoice()
    qtbot.addWidget(choice)
    choice.show_estimate(None, "Choose a dataset folder to see how long training will take.")
    assert [b.text() for b in choice.buttons.values()] == ["Quick", "Thorough", "Everything"]
    assert "Choose a dataset folder" in choice.words.text()


def test_the_chosen_search_reaches_the_run_and_the_estimate_follows_the_dataset(qtbot, make_window, dataset):
    window = make_window()
    choice = window.search.choice
    assert "Choose a dataset folder" in choice.words.text()
    load(qtbot, window, dataset)
    qtbot.waitUntil(lambda: "in all" in choice.words.text(), timeout=5_000)
    assert all("(" in b.text() for b in choice.buttons.values())  # each with its time
    assert window.make_config().search == "auto"
    choice.buttons["quick"].click()
    assert window.make_config().search == "quick"
    window.start_training()
    assert not choice.isEnabled()  # the choice rests during the run
    qtbot.waitUntil(lambda: window.train_panel.start_button.isEnabled(), timeout=10_000)
    assert window.runner.worker("training").config.search == "quick" and choice.isEnabled()


def test_the_runs_own_estimate_is_said_as_it_starts(qtbot, make_window):
    window = make_window()
    panel = window.train_panel
    words = "About 6 min in all: reading every image once (about 1 min)."
    panel.set_running(True)
    panel.show_event(RunEstimated(360.0, words, "auto", (("reading every image once", 60.0),)))
    assert panel.phase_label.text() == words and panel.time_label.toolTip() == words
    panel.set_running(False)
