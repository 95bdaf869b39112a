"""Batches for ``model.fit`` taken from cached arrays (in RAM or memory-mapped), one batch at a time.

Handing NumPy arrays straight to ``model.fit`` makes Keras turn the whole array into one tensor inside the
``tf.data`` graph: a full copy of a memory-mapped cache in RAM, and a graph that cannot be sent to other
replicas once it passes 2 GB. Here the pipeline holds only indices; each batch's rows are read from the array
when the batch is needed, so a cache larger than RAM trains as well as a small one, on one device or many.
"""

from __future__ import annotations

import numpy as np


def class_weights(y: np.ndarray, n_classes: int, mode: str) -> dict[int, float] | None:
    """Per-class weights: "balanced" always, "auto" only when the largest class has ≥ 1.5× the smallest."""
    counts = np.bincount(y, minlength=n_classes)
    present = counts[counts > 0]
    if mode == "none" or len(present) == 0 or (mode == "auto" and present.max() / present.min() < 1.5):
        return None
    from sklearn.utils.class_weight import compute_class_weight

    weights = compute_class_weight("balanced", classes=np.flatnonzero(counts), y=y)
    return {int(k): float(w) for k, w in zip(np.flatnonzero(counts), weights, strict=True)}


def sample_weights(y: np.ndarray, class_weight: dict[int, float] | None) -> np.ndarray | None:
    """Per-image weights from per-class weights (None stays None)."""
    if not class_weight:
        return None
    table = np.ones(int(y.max()) + 1 if len(y) else 1, np.float32)
    for k, w in class_weight.items():
        if k < len(table):
            table[k] = w
    return table[y]


def array_dataset(x: np.ndarray, y: np.ndarray, batch_size: int, *, shuffle: bool, seed: int,
                  class_weight: dict[int, float] | None = None, autotune: bool = False):
    """A ``tf.data.Dataset`` of ``(x, y)`` or ``(x, y, weight)`` batches gathered from ``x`` and ``y``.

    The order is a new permutation every epoch, the same sequence in every process given the same ``seed``
    (so the workers of a multi-worker job agree on it), and sharded by data when distributed.

    tf.data's autotuning stays off (``autotune=True`` only to measure it): at each new epoch, Keras drops the
    previous epoch's iterator, and destroying it waits for the autotuning thread, which sleeps through its
    optimisation period (growing towards a minute) before it notices: the machine stood idle 7–10 s at the
    start of every epoch (``benchmarks/bench_epoch_start.py``). Gathering rows is cheap: two parallel calls and
    two batches ahead keep the model fed.
    """
    import tensorflow as tf

    weights = sample_weights(y, class_weight)
    n = len(x)
    x_dtype = tf.as_dtype(x.dtype)

    def take(idx: np.ndarray):
        idx = np.sort(idx)  # rows in file order: sequential reads from a memory-mapped cache
        out = [np.asarray(x[idx]), np.asarray(y[idx], np.int64)]
        if weights is not None:
            out.append(weights[idx])
        return tuple(out)

    types = [x_dtype, tf.int64] + ([tf.float32] if weights is not None else [])

    def gather(idx):
        parts = tf.numpy_function(take, [idx], types, stateful=False)
        parts[0].set_shape((None,) + tuple(x.shape[1:]))
        parts[1].set_shape((None,))
        if weights is not None:
            parts[2].set_shape((None,))
        return tuple(parts)

    ds = tf.data.Dataset.range(n)
    if shuffle:
        ds = ds.shuffle(n, seed=seed, reshuffle_each_iteration=True)
    ahead = tf.data.AUTOTUNE if autotune else 2
    ds = ds.batch(batch_size).map(gather, num_parallel_calls=ahead)
    options = tf.data.Options()
    options.autotune.enabled = autotune
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options).prefetch(ahead)


def multi_worker_fixes(model, dataset) -> None:
    """Work around two gaps of Keras 3.15 under MultiWorkerMirroredStrategy (``keras/src/backend/tensorflow/
    trainer.py``), for this ``model`` only.

    1. Before the first step Keras averages a data batch across the workers only to learn its shapes, which
       fails for per-replica batches (``_maybe_symbolic_build``). The shapes are the same on every worker, so
       this worker's own first batch builds the model.
    2. Keras averages each step's metrics across workers with ``reduce("MEAN", value, axis=0)``, which fails
       on scalars. The steps here return each metric as a one-element vector, which that reduction averages
       over every replica into the scalar Keras expects: every worker then reports the same numbers.
    """
    import tensorflow as tf

    sample = next(iter(dataset))

    def symbolic_build(iterator=None, data_batch=None):
        with model.distribute_strategy.scope():
            model._symbolic_build(data_batch=sample)  # noqa: SLF001 - Keras's hook, replaced on purpose

    def as_vectors(step):
        def wrapped(data):
            return {k: tf.reshape(v, [1]) for k, v in step(data).items()}
        return wrapped

    model._maybe_symbolic_build = symbolic_build  # noqa: SLF001 - see the function's docstring
    model.train_step = as_vectors(type(model).train_step.__get__(model))
    model.test_step = as_vectors(type(model).test_step.__get__(model))
