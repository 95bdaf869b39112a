"""Fitting a head on frozen features without a Keras graph: the linear head (scikit-learn's logistic regression on
standardised features, returned as a dense softmax layer's weights) and Foveal's dense head trained in NumPy. The
automatic recipe (core.training.recipe) scores candidates with these; the winner is fitted with the same code."""

from __future__ import annotations

import math
import warnings

import numpy as np

#: The most images a linear fit is solved in the span of the images for (see fit_linear_path).
SPAN_UP_TO = 1000
#: Solutions to start linear fits from, by strength: (coefficients, intercepts) on standardised features.
WarmStart = dict[float, tuple[np.ndarray, np.ndarray]]


def fit_linear(x: np.ndarray, y: np.ndarray, n_classes: int, strength: float,
               balanced: bool, warm: WarmStart | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A logistic regression on standardised features, returned as ``(kernel D × K, bias K)`` of a dense layer
    on the raw features (the standardisation folded in), so that a Keras softmax layer computes it exactly.
    ``warm``: as for :func:`fit_linear_path`."""
    return fit_linear_path(x, y, n_classes, (strength,), balanced, warm)[0]


def fit_linear_path(x: np.ndarray, y: np.ndarray, n_classes: int, strengths: tuple[float, ...],
                    balanced: bool, warm: WarmStart | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """:func:`fit_linear` at each strength in turn, each fit starting from the previous solution (strongest
    regularisation first: the path is cheaper than separate fits). With ``warm``, each strength starts from the
    solution stored there (a fit on nearly the same images: the previous fold's, or all images') where it fits
    these classes, and its new solution is stored back. The optimum does not depend on the start; only the
    iterations to reach it do."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LogisticRegression

    mean = x.mean(axis=0)
    scale = x.std(axis=0)
    scale[scale < 1e-6] = 1.0
    z = (x - mean) / scale
    # With fewer images than features, the L2-regularised solution lies in the span of the images (the
    # representer theorem): fit on their coordinates in that span (N columns instead of D) and map back. The
    # same model, several times faster on a few hundred images of 1,280 to 5,120 features.
    # Up to SPAN_UP_TO images only: the N × N eigendecomposition grows as N³ (25 s at 4,000 images of 5,120
    # features, where the plain fit takes under a second).
    basis = None
    if z.shape[0] <= min(z.shape[1], SPAN_UP_TO):
        z, basis = _span_coordinates(z.astype(np.float64))
    # tol 1e-3: predictions settle long before the loss does (3× fewer iterations than the default 1e-4).
    model = LogisticRegression(class_weight="balanced" if balanced else None, max_iter=500, tol=1e-3,
                               warm_start=True)
    out = []
    for strength in strengths:
        model.set_params(C=strength)
        start = warm.get(strength) if warm is not None and basis is None else None
        if start is not None and start[0].shape == (1 if len(np.unique(y)) == 2 else len(np.unique(y)), z.shape[1]):
            model.coef_, model.intercept_ = start[0].copy(), start[1].copy()
        with warnings.catch_warnings():  # a capped number of iterations is a choice, not a problem
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(z, y)
        if warm is not None and basis is None:  # in the span of the images, the coordinates change with them
            warm[strength] = (model.coef_.copy(), model.intercept_.copy())
        coef = model.coef_ if basis is None else model.coef_ @ basis
        out.append(_as_dense(coef, model.intercept_, model.classes_, n_classes, mean, scale))
    return out


def _span_coordinates(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(coordinates N × r, basis r × D)`` with ``coordinates @ basis == z`` and orthonormal basis rows spanning
    the images (rank ``r``).

    From the eigenvectors of the N × N Gram matrix rather than an SVD of the N × D features: the same subspace, 10
    to 30 times faster (3 ms against 74 ms for 100 images of 2,560 features), which the recipe pays once per fold
    and candidate. Directions of (numerically) no variance are dropped: the fit cannot use them anyway."""
    values, vectors = np.linalg.eigh(z @ z.T)
    keep = values > values[-1] * 1e-10  # singular values above 1e-5 of the largest: well defined in float64
    s = np.sqrt(values[keep])
    coordinates = vectors[:, keep] * s
    basis = (vectors[:, keep] / s).T @ z
    return coordinates, basis


def _as_dense(fitted: np.ndarray, fitted_bias: np.ndarray, classes: np.ndarray, n_classes: int, mean: np.ndarray,
              scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A logistic regression's coefficients (on standardised features) as a dense softmax layer's on raw ones."""
    coef = np.zeros((n_classes, len(mean)), np.float64)
    intercept = np.zeros(n_classes, np.float64)
    if n_classes == 2 and fitted.shape[0] == 1:  # binary: softmax over (0, z) is the sigmoid of z
        coef[1], intercept[1] = fitted[0], fitted_bias[0]
    else:
        coef[classes], intercept[classes] = fitted, fitted_bias
        missing = np.setdiff1d(np.arange(n_classes), classes)
        intercept[missing] = -1e4  # a class absent from these images is never predicted
    kernel = (coef / scale).T
    bias = intercept - (mean / scale) @ coef.T
    return kernel.astype(np.float32), bias.astype(np.float32)


def fit_dense(x: np.ndarray, y: np.ndarray, n_classes: int, *, balanced: bool, epochs: int, learning_rate: float,
              dropout: float, batch_size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Foveal's dense head (dropout, dense softmax; Adam as Keras runs it; Glorot-uniform start), trained for
    ``epochs`` in NumPy: the same recipe as the Keras head, without a graph to trace for every fold."""
    rng = np.random.default_rng(seed)
    d = x.shape[1]
    limit = math.sqrt(6.0 / (d + n_classes))
    w = rng.uniform(-limit, limit, (d, n_classes))
    b = np.zeros(n_classes)
    weights = np.ones(n_classes)
    if balanced:
        counts = np.bincount(y, minlength=n_classes).astype(float)
        present = counts > 0
        weights[present] = len(y) / (present.sum() * counts[present])
    m_w, v_w, m_b, v_b = np.zeros_like(w), np.zeros_like(w), np.zeros_like(b), np.zeros_like(b)
    beta1, beta2, eps, step = 0.9, 0.999, 1e-7, 0
    onehot = np.eye(n_classes)[y]
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            xb = x[idx]
            if dropout > 0:
                xb = xb * (rng.random(xb.shape) >= dropout) / (1 - dropout)
            logits = xb @ w + b
            logits -= logits.max(axis=1, keepdims=True)
            p = np.exp(logits)
            p /= p.sum(axis=1, keepdims=True)
            sw = weights[y[idx]][:, None]
            grad = sw * (p - onehot[idx]) / len(idx)
            g_w, g_b = xb.T @ grad, grad.sum(axis=0)
            step += 1
            m_w, m_b = beta1 * m_w + (1 - beta1) * g_w, beta1 * m_b + (1 - beta1) * g_b
            v_w, v_b = beta2 * v_w + (1 - beta2) * g_w**2, beta2 * v_b + (1 - beta2) * g_b**2
            lr = learning_rate * math.sqrt(1 - beta2**step) / (1 - beta1**step)
            w -= lr * m_w / (np.sqrt(v_w) + eps)
            b -= lr * m_b / (np.sqrt(v_b) + eps)
    return w.astype(np.float32), b.astype(np.float32)
