"""`foveal --self-test` always speaks: without a display it says so in a sentence, checks what it can, and does
not pass (never a silent abort inside Qt)."""

from __future__ import annotations

import sys

from foveal.gui import self_test


def _no_display(monkeypatch) -> None:
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "platform", "linux")


def test_without_a_display_the_window_check_says_why_and_the_rest_still_run(monkeypatch):
    _no_display(monkeypatch)
    said: list[str] = []
    checks = [self_test.CHECKS[0], next(c for c in self_test.CHECKS if c[0] == "the bundled sample decodes")]
    failed = self_test.run_checks(said.append, checks)
    assert failed == 1
    assert said[0].startswith("SKIP  Qt shows the window: there is no display here") and "xvfb-run" in said[0]
    assert said[1].startswith("ok    the bundled sample decodes")  # what can be checked still is
    assert said[-1] == "Self-test not passed: 1 of 2 checks failed or could not run here."


def test_a_display_or_a_chosen_platform_lets_the_window_be_tried(monkeypatch):
    _no_display(monkeypatch)
    assert self_test.no_display() is not None
    monkeypatch.setenv("DISPLAY", ":0")
    assert self_test.no_display() is None
    monkeypatch.delenv("DISPLAY")
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert self_test.no_display() is None


def test_a_failing_check_is_said_with_its_reason_and_the_next_still_runs():
    said: list[str] = []

    def broken(state: dict) -> str:
        raise OSError("disk full")

    failed = self_test.run_checks(said.append, [("a broken check", broken), ("a good one", lambda state: "fine")])
    assert failed == 1 and said[0] == "FAIL  a broken check: OSError: disk full"
    assert said[1].startswith("ok    a good one") and said[1].endswith(": fine")


def test_the_window_is_checked_in_a_child_process_that_shows_it(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    said: list[str] = []
    assert self_test.run_checks(said.append, [self_test.CHECKS[0]]) == 0
    assert said[0].startswith("ok    Qt shows the window") and "offscreen platform" in said[0], said


def test_a_qt_that_aborts_is_a_failed_check_with_its_last_words_and_the_next_check_still_runs(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "no-such-platform")  # Qt aborts the process, as with a missing library
    said: list[str] = []
    checks = [self_test.CHECKS[0], ("a good one", lambda state: "fine")]
    assert self_test.run_checks(said.append, checks) == 1
    assert said[0].startswith("FAIL  Qt shows the window: RuntimeError: Qt could not show the window (it "), said
    assert "no-such-platform" in said[0] and "apt-get install" in said[0]
    assert said[1].startswith("ok    a good one")
