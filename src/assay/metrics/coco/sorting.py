"""Integer sorts the evaluation needs in O(n): a stable radix argsort and the rank of each
element inside its run of equal keys."""

from __future__ import annotations

import numpy as np

from assay.geometry.types import IntArray


def stable_argsort_by(major: IntArray, minor: IntArray, n_minor: int) -> IntArray:
    """Stable argsort by (major, minor), non-negative integers with minor < n_minor."""
    if len(major) == 0 or int(major.max()) < 2**62 // max(n_minor, 1):
        return stable_argsort(major * n_minor + minor)
    return np.lexsort((minor, major))  # the combined key would overflow int64


def stable_argsort(keys: IntArray) -> IntArray:
    """np.argsort(keys, kind="stable") for non-negative integer keys, as 16-bit radix passes
    (numpy radix-sorts 16-bit keys), least significant first: O(n) per pass.

    >>> stable_argsort(np.array([70000, 3, 70000, 0, 3])).tolist()
    [3, 1, 4, 0, 2]
    """
    order = np.arange(len(keys))
    if len(keys) == 0:
        return order
    top = int(keys.max())
    shift = 0
    while True:
        digit = ((keys[order] >> shift) & 0xFFFF).astype(np.uint16)
        order = order[np.argsort(digit, kind="stable")]
        shift += 16
        if top >> shift == 0:
            return order


def rank_in_runs(keys: IntArray) -> IntArray:
    """Position of each element inside its run of equal consecutive keys.

    >>> rank_in_runs(np.array([5, 5, 7, 7, 7, 2])).tolist()
    [0, 1, 0, 1, 2, 0]
    """
    n = len(keys)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.ones(n, dtype=bool)
    starts[1:] = keys[1:] != keys[:-1]
    idx = np.arange(n)
    return idx - np.maximum.accumulate(np.where(starts, idx, 0))
