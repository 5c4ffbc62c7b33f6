"""PSI and KS of metrics.drift against hand-computed values and scipy directly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from assay.metrics import drift


def test_psi_by_hand():
    # reference: half in bin [0.1, 0.2), half in [0.8, 0.9); current: 3/4 and 1/4
    ref = np.array([0.15, 0.15, 0.85, 0.85])
    cur = np.array([0.15, 0.15, 0.15, 0.85])
    expected = (0.75 - 0.5) * math.log(0.75 / 0.5) + (0.25 - 0.5) * math.log(0.25 / 0.5)
    assert drift.psi(ref, cur) == pytest.approx(expected)
    assert drift.psi(ref, ref) == 0.0


def test_psi_floors_empty_bins_and_is_nan_for_an_empty_side():
    ref = np.array([0.05])
    cur = np.array([0.95])
    floor = drift.PSI_FLOOR
    expected = 2 * (1 - floor) * math.log(1 / floor)
    assert drift.psi(ref, cur) == pytest.approx(expected)
    assert math.isnan(drift.psi(np.array([]), cur))


def test_histogram_uses_fixed_bins_and_clips():
    h = drift.histogram(np.array([-0.2, 0.0, 0.05, 0.1, 0.99, 1.0, 1.7]))
    assert h.tolist() == [3, 1, 0, 0, 0, 0, 0, 0, 0, 3]


def test_ks_is_scipys_two_sample_test():
    rng = np.random.default_rng(19)
    a, b = rng.beta(8, 2, 300), rng.beta(3, 3, 200)
    want = stats.ks_2samp(a, b)
    got = drift.ks(a, b)
    assert got.statistic == pytest.approx(want.statistic)
    assert got.pvalue == pytest.approx(want.pvalue)
    assert got.pvalue < 1e-10
    assert math.isnan(drift.ks(a, np.array([])).pvalue)


def test_quantile_strata_split_evenly():
    scores = np.random.default_rng(3).random(100)
    strata = drift.quantile_strata(scores, 4)
    assert np.bincount(strata).tolist() == [25, 25, 25, 25]
    # higher stratum, higher scores
    assert scores[strata == 0].max() < scores[strata == 3].min()


def test_week_starts_on_monday():
    days = np.array(["2026-12-07", "2026-12-09", "2026-12-13", "2026-12-14"], dtype="datetime64[D]")
    assert drift.week_start(days).astype(str).tolist() == [
        "2026-12-07",
        "2026-12-07",
        "2026-12-07",
        "2026-12-14",
    ]
