"""Honeypot rotation keeps exposure balanced (issue #18): `rotation.pick` over random job
sequences never shows a honeypot again while an eligible one waits less exposed."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from assay.services.honeypots.pool import DIFFICULTIES, UNRATED
from assay.services.honeypots.rotation import _largest_remainder, pick

LEVELS = (*DIFFICULTIES, UNRATED)


@settings(max_examples=150, deadline=None)
@given(
    levels=st.lists(st.sampled_from(LEVELS), min_size=1, max_size=30),
    jobs=st.lists(
        st.tuples(
            st.integers(1, 6),  # honeypots per job
            st.integers(1, 3),  # assignees: each is one exposure
            st.lists(st.integers(0, 29), max_size=8),  # honeypots the assignees have seen
        ),
        min_size=1,
        max_size=25,
    ),
    mix=st.sampled_from([(0.3, 0.4, 0.3), (1.0, 0.0, 0.0), (0.0, 0.5, 0.5)]),
    seed=st.integers(0, 2**32 - 1),
)
def test_no_honeypot_is_shown_again_while_an_eligible_one_waits_less_exposed(
    levels, jobs, mix, seed
):
    rng = random.Random(seed)
    shares = dict(zip(DIFFICULTIES, mix, strict=True))
    exposures = {t: 0 for t in range(len(levels))}
    for k, people, seen in jobs:
        eligible = [t for t in exposures if t not in set(seen)]
        candidates = [(t, levels[t], exposures[t]) for t in eligible]
        chosen = pick(candidates, _largest_remainder(shares, k), k, rng)
        assert len(chosen) == min(k, len(eligible)) and len(set(chosen)) == len(chosen)
        left_out = set(eligible) - set(chosen)
        if chosen and left_out:
            # every chosen one was at most as exposed as every eligible one left out
            assert max(exposures[t] for t in chosen) <= min(exposures[t] for t in left_out)
        for t in chosen:
            exposures[t] += people
    if not any(seen for _, _, seen in jobs) and all(p == 1 for _, p, _ in jobs):
        # nobody excluded, one person a job: after n jobs exposures differ by at most one
        assert max(exposures.values()) - min(exposures.values()) <= 1


def test_the_mix_decides_among_equally_exposed_and_unrated_fill_any_level():
    rng = random.Random(1)
    candidates = [(1, "easy", 0), (2, "hard", 0), (3, "hard", 0), (4, UNRATED, 0), (5, "easy", 1)]
    want = {"easy": 1, "medium": 1, "hard": 1}
    chosen = pick(candidates, want, 3, rng)
    # one easy, one hard, and the unrated one for the medium place; never the exposed easy one
    assert set(chosen) >= {1, 4} and len({2, 3} & set(chosen)) == 1 and 5 not in chosen
