"""Argument checks, read-only freezing and the tie tolerance shared by the consensus modules."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from assay.geometry.types import FloatArray

TIE = 1e-9  # relative tolerance for equal votes and for the quorum comparison


def freeze(*arrays: npt.NDArray[Any]) -> None:
    """Make the arrays read-only (the results' arrays are shared, never copied)."""
    for a in arrays:
        a.setflags(write=False)


def check_unit(value: float, name: str, *, low_open: bool = True) -> float:
    """`value` as float in (0, 1] (or [0, 1] with low_open=False); ValueError naming `name`."""
    v = float(value)
    ok = (0.0 < v <= 1.0) if low_open else (0.0 <= v <= 1.0)
    if not ok:
        interval = "(0, 1]" if low_open else "[0, 1]"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return v


def check_weights(weights: npt.ArrayLike | None, n: int) -> FloatArray:
    """Weights (n,) float64, finite, >= 0 and not all 0 (None: ones); ValueError otherwise."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), one per annotator, got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError(f"weights must be finite and >= 0, got {w.tolist()}")
    if w.sum() <= 0:
        raise ValueError("weights must not all be 0")
    return w
