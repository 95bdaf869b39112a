"""One real, tiny TensorFlow training through the real worker and the real window."""

from __future__ import annotations

import json
from pathlib import Path

from tests.factory import real_weights
from tests.gui.conftest import load


def test_real_training_end_to_end(qtbot, make_window, dataset, monkeypatch):
    from foveal.core.models import saved

    loads = []
    real_load = saved.load_classifier
    monkeypatch.setattr(saved, "load_classifier", lambda *a, **k: loads.append(a[0]) or real_load(*a, **k))
    window = make_window(real=True)
    load(qtbot, window, dataset)
    panel = window.model_panel
    panel.set_weights_file(real_weights())
    panel.advanced.setChecked(True)
    panel.epochs.setValue(2)
    panel.batch_size.setValue(4)
    window.dataset_panel.val_spin.setValue(20)
    window.dataset_panel.test_spin.setValue(20)
    window.start_training()
    assert window.train_panel.stop_button.isEnabled()
    qtbot.waitUntil(lambda: window.train_panel.start_button.isEnabled(), timeout=240_000)
    plot = window.train_panel.plot
    assert list(plot.data["epoch_x"].values) == [1, 2]
    assert len(plot.data["batch_x"]) == 2 * 2  # 8 training images, batch 4: 2 steps per epoch
    assert window.train_panel.result_label.text().endswith("%")
    run_dir = Path(window.train_panel.run_dir)
    assert (run_dir / "model.keras").exists() and (run_dir / "run.json").exists()
    assert run_dir.parent == window.session.runs_dir
    # The real evaluation follows on its own worker, then a real Grad-CAM on a click.
    evaluate = window.evaluate_panel
    qtbot.waitUntil(lambda: evaluate.evaluation is not None, timeout=120_000)
    run = json.loads((run_dir / "run.json").read_text())
    assert evaluate.evaluation.metrics["n"] == len(run["split"]["test"])
    assert (run_dir / "evaluation.json").exists() and (run_dir / "predictions.csv").exists()
    row = next(i for i, r in enumerate(evaluate.evaluation.metrics["confusion"]) if sum(r))
    col = next(j for j, v in enumerate(evaluate.evaluation.metrics["confusion"][row]) if v)
    evaluate.confusion.cellClicked.emit(row, col)
    evaluate.gallery.itemClicked.emit(evaluate.gallery.item(0))
    picture = evaluate.detail.picture
    qtbot.waitUntil(lambda: picture.pixmap() is not None and not picture.pixmap().isNull(), timeout=120_000)
    # The Predict view has the new model; a real prediction of one dropped image.
    predict = window.predict_panel
    qtbot.waitUntil(lambda: predict.model is not None, timeout=60_000)
    image = next(Path(dataset).rglob("*.png"))
    predict.add_paths([str(image)])
    qtbot.waitUntil(lambda: len(predict.rows) == 1, timeout=60_000)
    row = predict.rows[0]
    assert not row["error"] and row["predicted_class"] in run["classes"]
    assert abs(sum(row["probs"]) - 1) < 1e-4
    # One load of the new model, shared by evaluation, Grad-CAM and prediction; released when no view shows it.
    assert len(loads) == 1 and window.jobs.loaded() == [str((run_dir / "model.keras").resolve())]
    window.jobs.keep_only([])
    assert window.jobs.loaded() == []
