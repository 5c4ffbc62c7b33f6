"""Vote weights of annotators: from their accuracy against ground truth (log-odds), or from
Dawid–Skene's estimate over their labels of shared regions (`cluster_label_rows` builds that
items × annotators matrix task by task, `label_weights` turns it into weights)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from assay.geometry.types import FloatArray, IntArray
from assay.metrics.consensus.dawid_skene_em import DawidSkeneResult, dawid_skene
from assay.metrics.consensus.regions import Clusters


def reliability_weights(
    accuracy: npt.ArrayLike,
    *,
    n_classes: int = 2,
    scheme: Literal["log_odds", "linear"] = "log_odds",
    max_accuracy: float = 0.99,
) -> FloatArray:
    """Vote weights (n,) from annotators' accuracies p (n,) in [0, 1].

    "log_odds" (default): w = log((K − 1) · p / (1 − p)) with p clipped to
    [1/K, max_accuracy], K = n_classes: the optimal vote weight of an annotator who is right
    with probability p and otherwise picks a wrong class at random; 0 at chance level, capped
    so that one near-perfect annotator cannot outvote everyone. "linear": w = p.
    A nan accuracy (unknown) gets the mean weight of the others (1 if all are unknown).
    """
    p = np.asarray(accuracy, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"accuracy must have shape (n,), got {p.shape}")
    known = ~np.isnan(p)
    if ((p[known] < 0) | (p[known] > 1)).any():
        raise ValueError(f"accuracy must be in [0, 1], got {p.tolist()}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be >= 2, got {n_classes}")
    if not 0.0 < max_accuracy < 1.0:
        raise ValueError(f"max_accuracy must be in (0, 1), got {max_accuracy!r}")
    if scheme == "linear":
        w = p.copy()
    elif scheme == "log_odds":
        pc = np.clip(p, 1.0 / n_classes, max(max_accuracy, 1.0 / n_classes))
        w = np.log((n_classes - 1) * pc / (1.0 - pc))
        w = np.maximum(w, 0.0)
    else:
        raise ValueError(f"scheme must be 'log_odds' or 'linear', got {scheme!r}")
    w[~known] = w[known].mean() if known.any() else 1.0
    return w


def label_weights(
    matrix: npt.ArrayLike, n_labels: int, **ds_options: Any
) -> tuple[FloatArray, DawidSkeneResult]:
    """Vote weights (A,) of annotators from their labels of shared regions (items × A codes):
    Dawid–Skene's estimate of each one's label accuracy, as `reliability_weights` (log-odds,
    K = number of labels)."""
    k = max(n_labels, 2)
    ds = dawid_skene(matrix, k, **ds_options)
    return reliability_weights(ds.accuracy, n_classes=k), ds


def cluster_label_rows(
    clusters: Clusters, columns: Sequence[int], n_annotators: int, vocabulary: Sequence[Any]
) -> IntArray:
    """The items × annotators rows one task adds to `label_weights`' matrix: its clusters with
    two or more members, annotator a's label code in column `columns[a]`, -1 elsewhere."""
    codes = clusters.label_codes(vocabulary)
    codes = codes[(codes >= 0).sum(axis=1) >= 2]
    block = np.full((len(codes), n_annotators), -1, dtype=np.int64)
    block[:, list(columns)] = codes
    return block
