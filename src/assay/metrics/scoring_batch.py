"""Scoring many results against their ground truth at once: `score_result`, vectorised.

A full recompute scores every annotation and prediction of a project. One `score_result` call
costs about half a millisecond, nearly all of it Python overhead per region. `score_batch` takes
P (ground truth, subject) pairs, converts their Label Studio JSON with one
`rectangles_from_label_studio_many` call, groups the pairs by region counts, and matches, counts
and tallies them per label with a few numpy calls per group (`iou_matrix` and `match_batch` on
padded (B, N, M) arrays). Pair by pair the answer is exactly the `ResultScore` of

    score_result(regions_of(gt, w, h), regions_of(sub, w, h), settings)

bit for bit: the same counts, the same float sums (added in the same order), the same keys in
the same insertion order in `labels`, the same sorted `confusion` list.

Covered: results whose scored regions are all rectangles with a rotation that is a multiple
of 360 degrees (items scoring ignores, such as text areas, ratings or relations, may be
present). A pair where either side has a polygon, a keypoint, a choices item or a rotated
rectangle is scored by `score_result` itself, one at a time. A pair where either side cannot be
read (`RegionError` from the converter) gets None, where `score_result`'s caller would have
caught the error.

Shapes below: G ground truths, P pairs, R results converted together, n rectangles in them,
Q pairs on the vectorised path, L label names (plus UNMATCHED), B pairs in one size group
padded to N ground-truth and M subject rectangles. Boxes are xyxy pixels, origin top-left.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from assay.formats.label_studio import RegionError
from assay.formats.regions import (
    KEYPOINT_TYPES,
    POLYGON_TYPES,
    RECTANGLE_TYPES,
    TaskRegions,
    rectangles_from_label_studio_many,
)
from assay.geometry import iou_matrix
from assay.geometry.types import BoolArray, Boxes, FloatArray, IntArray
from assay.metrics.confusion import UNMATCHED
from assay.metrics.matching import BatchMatching, MatchMethod, match_batch
from assay.metrics.scores import Counts
from assay.metrics.scoring import QualitySettings, ResultScore, regions_of, score_result

__all__ = ["score_batch"]

# Item kinds that make `score_result` do more than match rectangles: such pairs go to it.
# (A choices item is a task-level class unless its id is a region's: a per-region attribute.)
_SHAPE_TYPES = POLYGON_TYPES | KEYPOINT_TYPES
_SINGLE_TYPES = _SHAPE_TYPES | {"choices"}

# numpy's sum of a float64 array shorter than this is a plain left-to-right sum (pairwise
# summation starts at 8 elements); longer ones are summed with np.sum itself, row by row.
_SEQUENTIAL_SUM_MAX = 8

# Padded (B, N, M) cells matched at once: bounds memory (match_batch holds a few such arrays,
# float64 and bool) when some results have hundreds of regions.
_MAX_CELLS = 1 << 21

_OK, _UNREADABLE, _SINGLE = 0, 1, 2  # status of a converted result


def score_batch(
    gt_results: Sequence[Any],
    sub_results: Sequence[Any],
    gt_index: npt.ArrayLike,
    widths: Sequence[float | None],
    heights: Sequence[float | None],
    settings: QualitySettings,
) -> list[ResultScore | None]:
    """Score P subject results against their ground truths, as `score_result` would.

    gt_results: G Label Studio `result` lists, one per task.
    sub_results: P `result` lists (annotations or predictions) to score.
    gt_index: (P,) int, the ground truth (position in gt_results) each subject is scored against.
    widths, heights: G image sizes in pixels of the ground truths' tasks; where either is
        missing (None or 0) regions stay in percent of the image, as `regions_of` does.
    Returns P entries: the pair's ResultScore, or None when either side raises RegionError.

    >>> box = {"type": "rectanglelabels", "value": {"x": 10, "y": 10, "width": 20,
    ...        "height": 20, "rectanglelabels": ["Cat"]}}
    >>> far = {"type": "rectanglelabels", "value": {"x": 60, "y": 60, "width": 20,
    ...        "height": 20, "rectanglelabels": ["Cat"]}}
    >>> [s.counts.tp for s in score_batch([[box]], [[box], [far], []], [0, 0, 0],
    ...                                   [100], [100], QualitySettings())]
    [1, 0, 0]
    """
    n_gt, n_pairs = len(gt_results), len(sub_results)
    gi = np.asarray(gt_index, dtype=np.int64).reshape(-1)
    if gi.shape != (n_pairs,):
        raise ValueError(f"gt_index must have shape ({n_pairs},), got {gi.shape}")
    if n_pairs and (gi.min() < 0 or gi.max() >= n_gt):
        raise ValueError(f"gt_index must lie in [0, {n_gt})")
    if len(widths) != n_gt or len(heights) != n_gt:
        raise ValueError(f"widths and heights must have {n_gt} entries, one per ground truth")
    # pixels when the size is known, else percent space (100 x 100): exactly as regions_of
    sizes = list(zip(widths, heights, strict=True))
    w_px = np.array([float(w) if w and h else 100.0 for w, h in sizes], dtype=np.float64)
    h_px = np.array([float(h) if w and h else 100.0 for w, h in sizes], dtype=np.float64)

    gt_fast = np.fromiter((_batchable(r) for r in gt_results), bool, n_gt)
    fast = np.fromiter((_batchable(r) for r in sub_results), bool, n_pairs)
    fast &= gt_fast[gi]

    # Convert every ground truth a fast pair needs, then the fast subjects, in one call.
    g_ids = np.flatnonzero(np.bincount(gi[fast], minlength=n_gt) > 0)
    s_ids = np.flatnonzero(fast)
    results = [gt_results[i] for i in g_ids] + [sub_results[i] for i in s_ids]
    flat = _convert(
        results,
        np.concatenate([w_px[g_ids], w_px[gi[s_ids]]]),
        np.concatenate([h_px[g_ids], h_px[gi[s_ids]]]),
    )
    gt_res = np.full(n_gt, -1, dtype=np.int64)
    gt_res[g_ids] = np.arange(len(g_ids))
    pair_g = gt_res[gi[s_ids]]  # result index of each fast pair's ground truth
    pair_s = len(g_ids) + np.arange(len(s_ids))  # and of its subject
    st_g, st_s = flat.status[pair_g], flat.status[pair_s]
    unreadable = (st_g == _UNREADABLE) | (st_s == _UNREADABLE)
    vector = (st_g == _OK) & (st_s == _OK)

    out: list[ResultScore | None] = [None] * n_pairs
    q = np.flatnonzero(vector)
    for p, score in zip(
        s_ids[q].tolist(), _score_flat(flat, pair_g[q], pair_s[q], settings), strict=True
    ):
        out[p] = score
    single = np.ones(n_pairs, dtype=bool)
    single[s_ids[vector | unreadable]] = False
    cache: dict[int, TaskRegions | None] = {}
    for p in np.flatnonzero(single).tolist():
        g = int(gi[p])
        if g not in cache:
            cache[g] = _regions_or_none(gt_results[g], widths[g], heights[g])
        gt = cache[g]
        sub = None if gt is None else _regions_or_none(sub_results[p], widths[g], heights[g])
        if gt is not None and sub is not None:
            out[p] = score_result(gt, sub, settings)
    return out


def _batchable(result: Any) -> bool:
    """False when `result` has an item that `score_result` scores as more than rectangles:
    a polygon, a keypoint, or a task-level choices item.

    A malformed result counts as batchable: the bulk converter raises the same RegionError
    for it as `regions_of` would.
    """
    try:
        kinds = {item.get("type") for item in result}
        if _SINGLE_TYPES.isdisjoint(kinds):
            return True
        if not _SHAPE_TYPES.isdisjoint(kinds):
            return False
        ids = {str(it.get("id", "")) for it in result if it.get("type") in RECTANGLE_TYPES}
        ids.discard("")
        return all(str(it.get("id", "")) in ids for it in result if it.get("type") == "choices")
    except (TypeError, AttributeError):
        return True


def _regions_or_none(result: Any, width: float | None, height: float | None) -> TaskRegions | None:
    try:
        return regions_of(result, width, height)
    except RegionError:
        return None


# -- converting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Flat:
    """The rectangles of R results, concatenated in result order, plus one zero row at the end
    for padding.

    xyxy: (n + 1, 4) float64 pixels. codes: (n + 1,) int64 positions in `names`.
    scores: (n + 1,) float64, nan (no score) replaced by 0.0 as `score_result` ranks them.
    start, count: (R,) int64 first row and number of rows of each result.
    status: (R,) int8: _OK; _UNREADABLE (RegionError); _SINGLE (rotated, or not convertible
        together with the others: scored by `score_result`). Rows exist only for _OK results.
    names: the L label names sorted (code point order, as Python sorts str), with UNMATCHED.
    unmatched: the code of UNMATCHED.
    """

    xyxy: Boxes
    codes: IntArray
    scores: FloatArray
    start: IntArray
    count: IntArray
    status: npt.NDArray[np.int8]
    names: list[str]
    unmatched: int


def _convert(results: list[Any], w_px: FloatArray, h_px: FloatArray) -> _Flat:
    """Convert R results in one call; unreadable and rotated ones are set aside and the rest
    converted again, so that every kept result is converted exactly as on its own."""
    status = np.zeros(len(results), dtype=np.int8)
    keep = np.arange(len(results))
    while True:
        try:
            rects, counts = rectangles_from_label_studio_many(
                [results[i] for i in keep], w_px[keep], h_px[keep]
            )
        except RegionError:
            bad = [i for i in keep.tolist() if not _readable(results[i], w_px[i], h_px[i])]
            status[bad] = _UNREADABLE
            if not bad:  # only unreadable together (never seen): score each on its own
                status[keep] = _SINGLE
            keep = keep[status[keep] == _OK]
            continue
        # A rotated rectangle anywhere sends every box of the call through the rotation
        # formula; on its own an unrotated result is converted without it. Redo without them.
        turned = rects.rotated[:, 4] % 360 != 0
        if not turned.any():
            break
        owner = np.repeat(np.arange(len(keep)), counts)
        status[keep[np.unique(owner[turned])]] = _SINGLE
        keep = keep[status[keep] == _OK]
    count = np.zeros(len(results), dtype=np.int64)
    count[keep] = counts
    start = np.cumsum(count) - count
    r = rects.rotated
    half = r[:, 2:4] / 2  # as RectangleRegions.xyxy for unrotated boxes, bit for bit
    xyxy = np.concatenate([r[:, :2] - half, r[:, :2] + half], axis=1)
    names, codes = np.unique(np.append(rects.labels, UNMATCHED), return_inverse=True)
    names_list: list[str] = names.tolist()
    return _Flat(
        xyxy=np.concatenate([xyxy, np.zeros((1, 4))]),
        codes=np.append(codes[:-1], 0).astype(np.int64),
        scores=np.append(np.nan_to_num(rects.scores, nan=0.0), 0.0),
        start=start.astype(np.int64),
        count=count,
        status=status,
        names=names_list,
        unmatched=int(codes[-1]),
    )


def _readable(result: Any, w: float, h: float) -> bool:
    try:
        rectangles_from_label_studio_many([result], [w], [h])
    except RegionError:
        return False
    return True


# -- scoring ---------------------------------------------------------------------------------


@dataclass
class _Tallies:
    """Per pair totals (Q,) and the per-label and confusion entries of some pairs, unordered.

    Label entries: pair, first (where score_result first touches the label: dict order),
    code, tp, fp, fn, matched, iou_sum. Confusion entries: pair, gt code, subject code, n.
    """

    tp: IntArray
    fp: IntArray
    fn: IntArray
    matched: IntArray
    iou_sum: FloatArray
    label_parts: list[tuple[npt.NDArray[Any], ...]]
    confusion_parts: list[tuple[IntArray, ...]]


def _score_flat(
    flat: _Flat, pair_g: IntArray, pair_s: IntArray, settings: QualitySettings
) -> list[ResultScore]:
    """Score Q pairs of converted results (indices into flat's results); one per pair."""
    n_q = len(pair_g)
    if not n_q:
        return []
    n, m = flat.count[pair_g], flat.count[pair_s]
    tallies = _Tallies(
        tp=np.zeros(n_q, np.int64),
        fp=np.zeros(n_q, np.int64),
        fn=np.zeros(n_q, np.int64),
        matched=np.zeros(n_q, np.int64),
        iou_sum=np.zeros(n_q),
        label_parts=[_no_label_entries()],
        confusion_parts=[(np.zeros(0, np.int64),) * 3],
    )
    # Groups of pairs with counts in the same powers of two: padding costs at most 4x. Pairs
    # with no region on either side keep their zero counts and have no labels or confusion.
    group = _bit_length(n) * 64 + _bit_length(m)
    order = np.argsort(group, kind="stable")
    order = order[(n[order] > 0) | (m[order] > 0)]
    cuts = np.flatnonzero(np.diff(group[order])) + 1
    for same_size in np.split(order, cuts) if len(order) else []:
        cells = int(n[same_size].max()) * int(m[same_size].max())
        step = max(1, _MAX_CELLS // max(cells, 1))
        for i in range(0, len(same_size), step):
            sel = same_size[i : i + step]
            g_start, s_start = flat.start[pair_g[sel]], flat.start[pair_s[sel]]
            _score_group(flat, sel, g_start, n[sel], s_start, m[sel], settings, tallies)
    return _assemble(tallies, flat.names)


def _no_label_entries() -> tuple[npt.NDArray[Any], ...]:
    """Empty per-label entries (see _Tallies), so that a batch of empty pairs has some."""
    none, no = np.zeros(0, np.int64), np.zeros(0, bool)
    return none, none, none, no, no, no, no, np.zeros(0)


def _bit_length(x: IntArray) -> IntArray:
    """(K,) number of binary digits of non-negative ints: 0 -> 0, 1 -> 1, 5 -> 3."""
    return np.searchsorted(1 << np.arange(63, dtype=np.int64), x, side="right")


def _gather(
    start: IntArray, count: IntArray, width: int, pad_row: int
) -> tuple[IntArray, BoolArray]:
    """(B, width) row indices of B ragged runs and the mask of real rows; padding -> pad_row."""
    col = np.arange(width)
    mask = col[None, :] < count[:, None]
    return np.where(mask, start[:, None] + col[None, :], pad_row), mask


def _score_group(
    flat: _Flat,
    sel: IntArray,
    g_start: IntArray,
    n: IntArray,
    s_start: IntArray,
    m: IntArray,
    settings: QualitySettings,
    t: _Tallies,
) -> None:
    """Match and count the B pairs `sel` (positions among the Q pairs); adds to `t`."""
    pad = len(flat.codes) - 1
    gi, gm = _gather(g_start, n, int(n.max()), pad)  # (B, N)
    si, sm = _gather(s_start, m, int(m.max()), pad)  # (B, M)
    iou = iou_matrix(flat.xyxy[gi], flat.xyxy[si])  # (B, N, M)
    gl, pl = flat.codes[gi], flat.codes[si]
    scores = flat.scores[si] if settings.match_method == "greedy" else None
    threshold = settings.thresholds_of(flat.names)[gl]  # (B, N) by each GT region's label

    method = cast(MatchMethod, settings.match_method)

    def match(label_aware: bool) -> BatchMatching:
        return match_batch(
            iou,
            gl,
            pl,
            threshold=threshold,
            method=method,
            scores=scores,
            label_aware=label_aware,
            gt_mask=gm,
            pred_mask=sm,
        )

    mt = match(settings.label_aware)
    pfg, gfp = mt.pred_for_gt, mt.gt_for_pred
    width_n, width_m = gi.shape[1], si.shape[1]
    hit = pfg >= 0  # (B, N)
    phit = gfp >= 0  # (B, M)
    partner = np.take_along_axis(pl, np.maximum(pfg, 0), axis=1) if width_m else gl
    g_tp = hit & (gl == partner)  # (B, N) a matched GT region with its own label
    partner_g = np.take_along_axis(gl, np.maximum(gfp, 0), axis=1) if width_n else pl
    p_tp = phit & (pl == partner_g)  # (B, M)
    miou = np.where(hit, mt.iou, 0.0)  # (B, N) IoU of each GT region's match, 0 if none

    # label_mismatch "one": a subject region paired with a GT region of another label (matched
    # across labels, or by a second matching among the leftovers) is no FP
    forgiven = np.zeros_like(phit)
    if settings.label_mismatch == "one":
        forgiven = (phit & ~p_tp) | _mismatched_leftovers(
            iou, gl, pl, threshold, gm & ~hit, sm & ~phit
        )
    tp = g_tp.sum(axis=1)
    t.tp[sel] = tp
    t.fp[sel] = m - tp - forgiven.sum(axis=1)
    t.fn[sel] = n - tp
    k = hit.sum(axis=1)
    t.matched[sel] = k
    t.iou_sum[sel] = _row_sums(miou, hit, k)

    # Per label, as score_result's `add` calls: one event per region. A GT region adds to its
    # label's tp (same label), fn (otherwise), matched and iou_sum; a subject region adds to
    # its label's fp unless it is a tp. `first` orders the labels as score_result first
    # touches them: matched GT regions by index (a mismatched partner's label right after),
    # then unmatched GT regions, then unmatched subject regions.
    big = 2 * width_n
    col_n, col_m = np.arange(width_n)[None, :], np.arange(width_m)[None, :]
    bg = np.broadcast_to(sel[:, None], gm.shape)[gm]
    bs = np.broadcast_to(sel[:, None], sm.shape)[sm]
    g_first = np.where(hit, 2 * col_n, big + col_n)[gm]
    s_first = np.where(phit, 2 * np.maximum(gfp, 0) + ~p_tp, big + width_n + col_m)[sm]
    t.label_parts.append(
        (
            np.concatenate([bg, bs]),
            np.concatenate([g_first, s_first]),
            np.concatenate([gl[gm], pl[sm]]),
            np.concatenate([g_tp[gm], np.zeros(len(bs), bool)]),
            np.concatenate([np.zeros(len(bg), bool), (~p_tp & ~forgiven)[sm]]),
            np.concatenate([~g_tp[gm], np.zeros(len(bs), bool)]),
            np.concatenate([hit[gm], np.zeros(len(bs), bool)]),
            np.concatenate([miou[gm], np.zeros(len(bs))]),
        )
    )

    # Confusion from a label-unaware matching: (gt, partner or UNMATCHED) per GT region,
    # (UNMATCHED, label) per unmatched subject region.
    mu = match(False) if settings.label_aware else mt
    u = flat.unmatched
    u_partner = np.take_along_axis(pl, np.maximum(mu.pred_for_gt, 0), axis=1) if width_m else gl
    g_side = np.where(mu.pred_for_gt >= 0, u_partner, u)[gm]
    extra = sm & (mu.gt_for_pred < 0)
    t.confusion_parts.append(
        (
            np.concatenate([bg, np.broadcast_to(sel[:, None], sm.shape)[extra]]),
            np.concatenate([gl[gm], np.full(int(extra.sum()), u)]),
            np.concatenate([g_side, pl[extra]]),
        )
    )


def _mismatched_leftovers(
    iou: FloatArray,
    gl: IntArray,
    pl: IntArray,
    threshold: FloatArray,
    gt_left: BoolArray,
    sub_left: BoolArray,
) -> BoolArray:
    """(B, M) the leftover subject regions that a Hungarian matching among the leftovers pairs
    with a leftover GT region of another label (as `scoring._mismatched_leftovers`)."""
    across = np.where(gl[:, :, None] != pl[:, None, :], iou, 0.0)
    second = match_batch(
        across, threshold=threshold, label_aware=False, gt_mask=gt_left, pred_mask=sub_left
    )
    out: BoolArray = second.gt_for_pred >= 0
    return out


def _row_sums(values: FloatArray, mask: BoolArray, k: IntArray) -> FloatArray:
    """(B,) float(np.sum(values[b][mask[b]])) per row, bit for bit: the masked-out entries are
    0.0 and change no partial sum of a left-to-right sum, which is numpy's order below 8."""
    if not values.shape[1]:
        return np.zeros(len(values))
    out: FloatArray = np.cumsum(values, axis=1)[:, -1]
    for b in np.flatnonzero(k >= _SEQUENTIAL_SUM_MAX).tolist():
        out[b] = np.sum(values[b][mask[b]])
    return out


def _assemble(t: _Tallies, names: list[str]) -> list[ResultScore]:
    """One ResultScore per pair from the tallies: labels in first-touch order, confusion
    sorted by (gt label, subject label) names."""
    n_q = len(t.tp)
    lab = [np.concatenate(cols) for cols in zip(*t.label_parts, strict=True)]
    pair, first, code, is_tp, is_fp, is_fn, is_matched, iou = lab
    # one entry per (pair, label): events sorted by (pair, label, first); the iou weights of a
    # label then come in GT index order, summed left to right from 0.0 as score_result does
    order = np.lexsort((first, code, pair))
    pair, first, code = pair[order], first[order], code[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (pair[1:] != pair[:-1]) | (code[1:] != code[:-1])
    entry = np.cumsum(new) - 1
    n_entries = int(new.sum())

    def count(flags: BoolArray) -> list[int]:
        out: list[int] = np.bincount(entry[flags[order]], minlength=n_entries).tolist()
        return out

    e_pair, e_first, e_code = pair[new], first[new], code[new]
    e_iou = np.bincount(entry, weights=iou[order], minlength=n_entries).tolist()
    e_tp, e_fp, e_fn, e_matched = count(is_tp), count(is_fp), count(is_fn), count(is_matched)
    by_first = np.lexsort((e_first, e_pair))
    items = [
        (names[c], [e_tp[i], e_fp[i], e_fn[i], e_matched[i], e_iou[i]])
        for i, c in zip(by_first.tolist(), e_code[by_first].tolist(), strict=True)
    ]
    lab_bounds = np.searchsorted(e_pair[by_first], np.arange(n_q + 1)).tolist()

    c_pair, c_gt, c_sub = (np.concatenate(cols) for cols in zip(*t.confusion_parts, strict=True))
    order = np.lexsort((c_sub, c_gt, c_pair))
    c_pair, c_gt, c_sub = c_pair[order], c_gt[order], c_sub[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (c_pair[1:] != c_pair[:-1]) | (c_gt[1:] != c_gt[:-1]) | (c_sub[1:] != c_sub[:-1])
    starts = np.flatnonzero(new)
    runs = np.diff(np.append(starts, len(order))).tolist()
    pairs = [
        [names[g], names[s], r]
        for g, s, r in zip(c_gt[starts].tolist(), c_sub[starts].tolist(), runs, strict=True)
    ]
    conf_bounds = np.searchsorted(c_pair[starts], np.arange(n_q + 1)).tolist()

    totals = zip(
        t.tp.tolist(), t.fp.tolist(), t.fn.tolist(), t.matched.tolist(), t.iou_sum.tolist(),
        strict=True,
    )  # fmt: skip
    return [
        ResultScore(
            Counts(tp, fp, fn, matched, iou_sum),
            dict(items[lab_bounds[j] : lab_bounds[j + 1]]),
            pairs[conf_bounds[j] : conf_bounds[j + 1]],
        )
        for j, (tp, fp, fn, matched, iou_sum) in enumerate(totals)
    ]
