"""The window's shared state and its jobs: the session announces each change once, the panels follow it, and one
shutdown ends every thread, even while every kind of job is running."""

from __future__ import annotations

import functools
import gc
import threading

from foveal.core.data.scan import scan_dataset
from foveal.core.project import create_project
from foveal.gui.session import Session
from foveal.gui.workers.base import ThreadWorker
from foveal.gui.workers.call_worker import CallWorker
from foveal.gui.workers.jobs import JobRunner
from tests.gui.conftest import load
from tests.gui.fakes import scripted_compare


def _record(session: Session) -> dict[str, list]:
    heard: dict[str, list] = {"summary": [], "project": [], "runs_dir": [], "run": [], "training": []}
    session.sig_summary_changed.connect(heard["summary"].append)
    session.sig_project_changed.connect(heard["project"].append)
    session.sig_runs_dir_changed.connect(heard["runs_dir"].append)
    session.sig_run_changed.connect(heard["run"].append)
    session.sig_training_changed.connect(heard["training"].append)
    return heard


def test_each_change_is_announced_once_and_the_same_value_is_not(qapp, tmp_path, dataset):
    session = Session(tmp_path / "runs")
    heard = _record(session)
    summary = scan_dataset(dataset)
    for _ in range(2):
        session.set_summary(summary)
        session.set_run(str(tmp_path / "runs" / "one"))
        session.set_training(True)
    assert heard["summary"] == [summary] and session.summary is summary and session.trainable
    assert heard["run"] == [str(tmp_path / "runs" / "one")] and heard["training"] == [True]
    session.set_summary(scan_dataset(dataset))  # a new scan of the same folder is news: its files may differ
    assert len(heard["summary"]) == 2
    project = create_project(tmp_path / "proj", dataset)
    session.set_project(project)
    session.set_project(project)
    assert heard["project"] == [project] and heard["runs_dir"] == [project.runs_dir]
    assert session.runs_dir == project.runs_dir
    session.set_project(None)
    assert heard["project"] == [project, None] and heard["runs_dir"] == [project.runs_dir, tmp_path / "runs"]
    session.set_training(False)
    session.set_summary(None)
    assert heard["training"] == [True, False] and heard["summary"][-1] is None and not session.trainable


def test_the_window_follows_the_session(qtbot, make_window, dataset, tmp_path):
    window = make_window()
    assert not window.train_panel.start_button.isEnabled()
    window.session.set_summary(scan_dataset(dataset))  # as a finished scan does
    assert window.dataset_panel.table.rowCount() == 2 and window.train_panel.start_button.isEnabled()
    assert window.window_actions.named["Start training"].text() == "Start training"
    assert "12 images in 2 classes" in window.statusBar().currentMessage()
    project = create_project(tmp_path / "proj", dataset)
    window.session.set_project(project)
    assert window.windowTitle() == "Foveal — proj"
    assert window.make_config().out_dir.startswith(str(project.runs_dir))  # new runs go into the project
    window.session.set_project(None)
    assert window.windowTitle() == "Foveal" and window.session.runs_dir == tmp_path / "runs"
    window.session.set_training(True)  # a run under way: Start is not offered, Stop is
    assert not window.train_panel.start_button.isEnabled() and window.window_actions.named["Stop training"].isEnabled()
    window.session.set_training(False)
    window.session.set_summary(None)
    assert not window.train_panel.start_button.isEnabled()


def test_a_runner_refuses_new_jobs_once_shut_down_and_waits_for_the_running_ones(qtbot):
    runner = JobRunner()
    release = threading.Event()
    done: list[object] = []
    worker = runner.start("slow", CallWorker(release.wait, 10), done.append, lambda *a: done.append(a))
    assert runner.is_running("slow") and runner.worker("slow") is worker
    assert not runner.shutdown(50)  # the job cannot be cancelled: it is still running after 50 ms
    assert runner.closing and runner.start("late", CallWorker(print), done.append, done.append) is None
    release.set()
    assert runner.shutdown(5000) and not worker.is_running()


def test_a_discarded_job_is_kept_until_its_thread_ends_and_its_result_is_not_heard(qtbot):
    runner = JobRunner()
    release = threading.Event()
    ended: list[str] = []
    runner.sig_ended.connect(ended.append)
    first = runner.start("job", CallWorker(release.wait, 10), lambda r: None, lambda *a: None)
    runner.discard("job")
    assert runner.worker("job") is None and first.is_running()
    del first
    gc.collect()
    assert [w for w in gc.get_objects() if isinstance(w, ThreadWorker) and w.is_running()]  # held by the runner
    second = runner.start("job", CallWorker(len, "abc"), lambda r: None, lambda *a: None)
    qtbot.waitUntil(lambda: ended == ["job"], timeout=5000)
    release.set()
    assert runner.shutdown(5000) and not second.is_running() and ended == ["job"]


def test_closing_while_training_comparing_and_scanning_ends_every_thread(qtbot, make_window, dataset, answer_yes):
    window = make_window(delay=0.05, steps=50, compare_fn=functools.partial(scripted_compare, delay=0.05))
    load(qtbot, window, dataset)
    window.start_training()
    window.compare.open()
    window.compare.dialog.start_button.click()
    window.open_folder(str(dataset))  # a scan too (the training keeps its own copy of the settings)
    qtbot.waitUntil(lambda: window.train_panel.batches_in_phase > 0, timeout=5000)
    assert window.compare.dialog.is_running()
    window.close()
    assert any("Stop training and close" in a for a in answer_yes)
    workers = [o for o in gc.get_objects() if isinstance(o, ThreadWorker)]
    assert workers and not [w for w in workers if w.is_running()]
    assert window.dataset_panel.thumbs.pool.activeThreadCount() == 0
