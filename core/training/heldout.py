"""The held-out test split measured once, through the path the saved model and every export take: each image
decoded whole and resized in floating point (core.models.predict), then the whole classifier. So the accuracy a
run reports is the accuracy ``foveal evaluate``, the window and the exports find on the same images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from core.cancel import CancelToken
from core.data.scan import ImageRecord
from core.models.predict import ImageFile, predict_files
from core.models.saved import Classifier


def measure_test(model: Any, classes: Sequence[str], image_size: int, records: Sequence[ImageRecord], *,
                 batch_size: int, cancel: CancelToken | None = None) -> tuple[float | None, float | None]:
    """``(accuracy, mean cross-entropy)`` of the assembled classifier on ``records`` (None, None when empty)."""
    readable = [r for r in records if r.label in classes]
    if not readable:
        return None, None
    clf = Classifier(model, tuple(classes), image_size, "")
    result = predict_files(clf, [ImageFile(r.path, r.rel) for r in readable], batch_size=batch_size,
                           cancel=cancel)
    if not result.indices:
        return None, None
    index = {c: i for i, c in enumerate(classes)}
    y = np.array([index[readable[i].label] for i in result.indices])
    p_true = result.probs[np.arange(len(y)), y]
    accuracy = float(np.mean(result.probs.argmax(axis=1) == y))
    loss = float(np.mean(-np.log(np.clip(p_true, 1e-7, 1.0))))
    return accuracy, loss
