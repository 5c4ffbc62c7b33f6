"""Dawid–Skene EM over an items × annotators matrix of class codes: each item's most probable
class and each annotator's confusion matrix and accuracy."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from assay.geometry.types import BoolArray, FloatArray, IntArray
from assay.metrics.consensus._checks import TIE, freeze

_EPS = 1e-10  # floor of probabilities in Dawid–Skene (crowd-kit's)


@dataclass(frozen=True, eq=False)
class DawidSkeneResult:
    """Dawid–Skene estimate over I items, A annotators, C classes.

    posteriors: (I, C) float64, P(true class | answers); nan rows for items nobody answered.
    labels: (I,) int64, the most probable class (the smallest on a tie), -1 if unanswered.
    tied: (I,) bool, two classes were equally probable (within 1e-9).
    priors: (C,) float64, class prior π.
    confusion: (A, C, C) float64, confusion[a, c, l] = P(annotator a answers l | true c).
    accuracy: (A,) float64, Σ_c π_c confusion[a, c, c]; nan for annotators with no answer.
    n_iter: EM iterations run; converged: the log-likelihood gain fell below tol.
    log_likelihood: of the answers under the returned parameters' previous E-step.
    """

    posteriors: FloatArray
    labels: IntArray
    tied: BoolArray
    priors: FloatArray
    confusion: FloatArray
    accuracy: FloatArray
    n_iter: int
    converged: bool
    log_likelihood: float

    def __post_init__(self) -> None:
        freeze(self.posteriors, self.labels, self.tied, self.priors, self.confusion, self.accuracy)


def check_label_matrix(matrix: npt.ArrayLike, n_classes: int | None) -> tuple[IntArray, int]:
    """The items × annotators matrix as int64 codes (-1 = no answer) and the number of classes."""
    m = np.asarray(matrix)
    if m.ndim != 2:
        raise ValueError(f"matrix must be (items, annotators), got shape {m.shape}")
    if m.dtype.kind == "f":
        if not np.all(np.isnan(m) | (m == np.round(m))):
            raise ValueError("matrix must hold integer class codes (-1 or nan = no answer)")
        m = np.where(np.isnan(m), -1, m)
    elif m.dtype.kind not in "iub":
        raise ValueError(f"matrix must hold integer class codes, got dtype {m.dtype}")
    m = m.astype(np.int64)
    if (m < -1).any():
        raise ValueError("matrix codes must be >= 0, or -1 for no answer")
    c = int(m.max()) + 1 if n_classes is None and m.size else int(n_classes or 1)
    if m.size and m.max() >= c:
        raise ValueError(f"matrix holds code {int(m.max())}, outside n_classes = {c}")
    return m, max(c, 1)


def one_hot(m: IntArray, c: int) -> FloatArray:
    """(I, A, C) float64 indicator of each answer's class; all 0 where there is no answer."""
    y = np.zeros((*m.shape, c))
    i, a = np.nonzero(m >= 0)
    y[i, a, m[i, a]] = 1.0
    return y


def top_class(p: FloatArray) -> tuple[IntArray, BoolArray]:
    """argmax per row (smallest index on ties) and whether the top is tied within 1e-9."""
    labels = p.argmax(axis=1)
    best = p[np.arange(len(p)), labels]
    tied = ((p >= best[:, None] - TIE).sum(axis=1) > 1) if p.shape[1] else np.zeros(0, bool)
    return labels.astype(np.int64), tied


def _m_step(y: FloatArray, t: FloatArray, smoothing: float) -> FloatArray:
    counts = np.einsum("ic,ial->acl", t, y) + smoothing
    np.maximum(counts, _EPS, out=counts)
    return counts / counts.sum(axis=2, keepdims=True)


def dawid_skene(
    matrix: npt.ArrayLike,
    n_classes: int | None = None,
    *,
    max_iter: int = 100,
    tol: float = 1e-6,
    smoothing: float = 0.01,
) -> DawidSkeneResult:
    """Dawid–Skene EM over an items × annotators matrix of class codes (-1 = no answer).

    matrix: (I, A) int codes in [0, C) or -1 (float with nan for no answer is accepted).
    n_classes: C (default: the largest code + 1).
    max_iter: EM iterations at most; tol: stop when the log-likelihood per answer gains less.
    smoothing: pseudo-count added to every confusion-matrix cell in the M-step (0 = plain
        maximum likelihood, as crowd-kit's `DawidSkene`, which it then matches to 1e-6).

    Initialised from the (deterministic) majority-vote shares; see docs/metrics.md for the
    E- and M-step equations.
    """
    m, c = check_label_matrix(matrix, n_classes)
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter}")
    if smoothing < 0 or tol < 0:
        raise ValueError("smoothing and tol must be >= 0")
    n_items = len(m)
    answered = (m >= 0).any(axis=1)
    y = one_hot(m[answered], c)
    n_answers = max(int(y.sum()), 1)
    votes = y.sum(axis=1)
    t = votes / np.maximum(votes.sum(axis=1, keepdims=True), 1.0)
    priors = t.mean(axis=0) if len(t) else np.full(c, 1.0 / c)
    confusion = _m_step(y, t, smoothing)
    ll_old, ll, converged, n_iter = -np.inf, -np.inf, False, 0
    for it in range(1, max_iter + 1):
        n_iter = it
        log_t = np.log(np.maximum(priors, _EPS)) + np.einsum("ial,acl->ic", y, np.log(confusion))
        top = log_t.max(axis=1, keepdims=True)
        t = np.exp(log_t - top)
        norm = t.sum(axis=1, keepdims=True)
        t /= norm
        ll = float((top + np.log(norm)).sum())
        priors = t.mean(axis=0) if len(t) else priors
        confusion = _m_step(y, t, smoothing)
        if (ll - ll_old) / n_answers < tol:
            converged = True
            break
        ll_old = ll
    post = np.full((n_items, c), np.nan)
    post[answered] = t
    labels = np.full(n_items, -1, dtype=np.int64)
    tied = np.zeros(n_items, dtype=bool)
    labels[answered], tied[answered] = top_class(t)
    acc = np.einsum("c,acc->a", priors, confusion)
    acc[~(m >= 0).any(axis=0)] = np.nan
    return DawidSkeneResult(
        posteriors=post,
        labels=labels,
        tied=tied,
        priors=priors,
        confusion=confusion,
        accuracy=acc,
        n_iter=n_iter,
        converged=converged,
        log_likelihood=ll,
    )
