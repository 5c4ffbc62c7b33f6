"""Distribution shift of model confidence: fixed-bin histograms, the population stability
index (PSI), the two-sample Kolmogorov-Smirnov test, and quantile strata of confidences.

Pure numpy/scipy: arrays in, numbers out (docs/metrics.md gives the formulas).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

BINS = 10  # fixed confidence bins of width 0.1 over [0, 1]
EDGES = np.linspace(0.0, 1.0, BINS + 1)
PSI_FLOOR = 1e-4  # an empty bin's share, so that ln(a / e) stays finite


def histogram(scores: np.ndarray) -> np.ndarray:
    """Counts per fixed confidence bin; scores outside [0, 1] fall in the end bins."""
    clipped = np.clip(np.asarray(scores, dtype=float), 0.0, 1.0)
    return np.histogram(clipped, bins=EDGES)[0]


def psi(reference: np.ndarray, current: np.ndarray) -> float:
    """Population stability index of `current` against `reference` over the fixed bins:
    sum over bins of (c - r) * ln(c / r), with c and r the bins' shares (floored at
    PSI_FLOOR). 0 for identical shares; NaN when either side is empty."""
    r, c = histogram(reference).astype(float), histogram(current).astype(float)
    if not r.sum() or not c.sum():
        return float("nan")
    r = np.maximum(r / r.sum(), PSI_FLOOR)
    c = np.maximum(c / c.sum(), PSI_FLOOR)
    return float(np.sum((c - r) * np.log(c / r)))


@dataclass(frozen=True)
class KS:
    statistic: float
    pvalue: float


def ks(reference: np.ndarray, current: np.ndarray) -> KS:
    """Two-sample Kolmogorov-Smirnov test (scipy.stats.ks_2samp, two-sided); NaN when either
    side is empty."""
    if not len(reference) or not len(current):
        return KS(float("nan"), float("nan"))
    # scipy.stats loads on first use: ~65 MiB a server would otherwise hold from its start.
    from scipy import stats  # noqa: PLC0415

    out = stats.ks_2samp(np.asarray(reference, float), np.asarray(current, float))
    return KS(float(out.statistic), float(out.pvalue))


def quantile_strata(scores: np.ndarray, k: int) -> np.ndarray:
    """Each score's stratum 0..k-1: the k quantile ranges of the scores themselves (ties
    stay together, so fewer strata may be filled)."""
    scores = np.asarray(scores, dtype=float)
    if not len(scores) or k <= 1:
        return np.zeros(len(scores), dtype=int)
    inner = np.quantile(scores, np.linspace(0, 1, k + 1)[1:-1])
    return np.searchsorted(inner, scores, side="right")


def week_start(days: np.ndarray) -> np.ndarray:
    """The Monday (datetime64[D]) of each day's ISO week."""
    d = np.asarray(days, dtype="datetime64[D]")
    return d - ((d.astype(np.int64) + 3) % 7).astype("timedelta64[D]")
