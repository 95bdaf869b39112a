"""Batches gathered from cached arrays: every row once per epoch, a new order each epoch, the same order in every
process, class weights as sample weights, and memory-mapped caches read batch by batch."""

from __future__ import annotations

import numpy as np

from foveal.core.training.feed import array_dataset, class_weights, sample_weights


def _epoch(ds) -> tuple[np.ndarray, list]:
    xs, batches = [], []
    for batch in ds:
        xs.append(batch[0].numpy())
        batches.append(tuple(t.numpy() for t in batch))
    return np.concatenate(xs), batches


def test_every_row_once_per_epoch_in_a_new_order_the_same_for_the_same_seed():
    x = np.arange(50, dtype=np.float32).reshape(50, 1) * np.ones((1, 3), np.float32)
    y = np.arange(50) % 3
    ds = array_dataset(x, y, 8, shuffle=True, seed=5)
    first, batches = _epoch(ds)
    second, _ = _epoch(ds)
    assert sorted(first[:, 0]) == list(range(50)) and sorted(second[:, 0]) == list(range(50))
    assert not np.array_equal(first[:, 0], second[:, 0])  # reshuffled each epoch
    assert [len(b[0]) for b in batches] == [8] * 6 + [2]
    for bx, by in batches:  # labels travel with their rows
        assert np.array_equal(by, bx[:, 0].astype(int) % 3)
    again, _ = _epoch(array_dataset(x, y, 8, shuffle=True, seed=5))  # another process, same seed
    assert np.array_equal(np.sort(first[:8, 0]), np.sort(again[:8, 0]))
    ordered, _ = _epoch(array_dataset(x, y, 8, shuffle=False, seed=5))
    assert np.array_equal(ordered[:, 0], np.arange(50))


def test_class_weights_become_sample_weights():
    y = np.array([0] * 30 + [1] * 10)
    weights = class_weights(y, 2, "auto")
    assert weights is not None and weights[1] == 3 * weights[0]
    assert class_weights(np.array([0, 0, 1, 1]), 2, "auto") is None  # balanced enough: no weights
    assert class_weights(y, 2, "none") is None
    per_image = sample_weights(y, weights)
    assert per_image[0] == weights[0] and per_image[-1] == weights[1]
    batches = list(array_dataset(np.zeros((40, 2), np.float32), y, 40, shuffle=False, seed=0, class_weight=weights))
    _, by, bw = (t.numpy() for t in batches[0])
    assert np.allclose(bw, np.where(by == 1, weights[1], weights[0]))


def test_memory_mapped_cache_is_read_batch_by_batch(tmp_path):
    path = tmp_path / "images.npy"
    cache = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(64, 8, 8, 3))
    cache[:] = np.arange(64, dtype=np.uint8)[:, None, None, None]
    cache.flush()
    mm = np.load(path, mmap_mode="r")
    ds = array_dataset(mm, np.zeros(64, np.int64), 16, shuffle=True, seed=1)
    seen = np.concatenate([b[0].numpy()[:, 0, 0, 0] for b in ds])
    assert sorted(seen.tolist()) == list(range(64))
    assert ds.element_spec[0].shape.as_list() == [None, 8, 8, 3]
