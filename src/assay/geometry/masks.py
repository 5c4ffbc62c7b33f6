"""Binary masks as COCO run-length encodings (RLE): encode, decode, area, IoU matrix.

An RLE is `{"size": [height, width], "counts": [...]}`: run lengths over the mask flattened in
column-major (Fortran) order, alternating 0-runs and 1-runs and starting with a 0-run (0 when
the first pixel is set). `counts` may also be COCO's compressed ASCII string (the format
pycocotools writes); `rle_compress` / `rle_decompress` convert between the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from assay.geometry.types import FloatArray, IntArray, Rle

__all__ = [
    "rle_area",
    "rle_compress",
    "rle_counts",
    "rle_decode",
    "rle_decompress",
    "rle_encode",
    "rle_iou_matrix",
]


def rle_encode(mask: npt.ArrayLike) -> Rle:
    """(H, W) binary mask -> RLE with uncompressed counts (list of ints).

    >>> rle_encode(np.array([[0, 1], [0, 1]]))
    {'size': [2, 2], 'counts': [2, 2]}
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must have shape (H, W), got {m.shape}")
    flat = m.ravel(order="F").astype(bool)
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds)
    if flat.size and flat[0]:
        runs = np.concatenate([[0], runs])
    return {"size": [int(m.shape[0]), int(m.shape[1])], "counts": runs.astype(int).tolist()}


def rle_counts(rle: Rle) -> IntArray:
    """The run lengths of an RLE as int64 (R,), decompressing a string if needed; checks that
    they add up to height * width and raises ValueError otherwise."""
    counts = rle["counts"]
    if isinstance(counts, bytes | str):
        arr = np.asarray(rle_decompress(counts), dtype=np.int64)
    else:
        arr = np.asarray(counts, dtype=np.int64).reshape(-1)
    h, w = (int(v) for v in rle["size"])
    if (arr < 0).any():
        raise ValueError("RLE counts must be non-negative")
    if int(arr.sum()) != h * w:
        raise ValueError(f"RLE counts sum to {int(arr.sum())}, expected {h} * {w} = {h * w}")
    return arr


def rle_decode(rle: Rle) -> npt.NDArray[np.bool_]:
    """RLE -> (H, W) bool mask."""
    h, w = (int(v) for v in rle["size"])
    runs = rle_counts(rle)
    values = (np.arange(len(runs)) % 2).astype(bool)
    return np.repeat(values, runs).reshape((h, w), order="F")


def rle_area(rle: Rle) -> int:
    """Number of set pixels."""
    return int(rle_counts(rle)[1::2].sum())


def rle_compress(counts: Sequence[int] | npt.ArrayLike) -> str:
    """Uncompressed run lengths -> COCO's compressed string (pycocotools' rleToString):
    each count, minus the count two places before it from the third on, as little-endian
    groups of 5 bits with a continuation bit, offset into printable ASCII from '0'."""
    cnts = [int(c) for c in np.asarray(counts, dtype=np.int64).reshape(-1)]
    out: list[str] = []
    for i, c in enumerate(cnts):
        x = c - cnts[i - 2] if i > 2 else c
        more = True
        while more:
            ch = x & 0x1F
            x >>= 5
            more = x != -1 if ch & 0x10 else x != 0
            if more:
                ch |= 0x20
            out.append(chr(ch + 48))
    return "".join(out)


def rle_decompress(s: str | bytes) -> list[int]:
    """COCO's compressed string -> run lengths (pycocotools' rleFrString)."""
    data = s.encode("ascii") if isinstance(s, str) else s
    cnts: list[int] = []
    p, n = 0, len(data)
    while p < n:
        x, k, more = 0, 0, True
        while more:
            if p >= n:
                raise ValueError("compressed RLE string ends in the middle of a count")
            c = data[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and c & 0x10:
                x |= -1 << (5 * k)
        if len(cnts) > 2:
            x += cnts[-2]
        cnts.append(x)
    return cnts


def _intervals(rle: Rle) -> tuple[IntArray, IntArray, int]:
    """Foreground runs as [start, end) offsets into the column-major flattened mask."""
    runs = rle_counts(rle)
    ends = np.cumsum(runs)
    starts = ends - runs
    fg = np.arange(len(runs)) % 2 == 1
    fg &= runs > 0
    h, w = (int(v) for v in rle["size"])
    return starts[fg], ends[fg], h * w


def _covered(x: IntArray, starts: IntArray, ends: IntArray, cum: IntArray) -> IntArray:
    """Pixels of a mask (runs [starts, ends), cum = pixels before each run) before offset x."""
    k = np.searchsorted(starts, x, side="right") - 1
    kk = np.maximum(k, 0)
    inside = np.minimum(x - starts[kk], ends[kk] - starts[kk])
    return np.where(k >= 0, cum[kk] + inside, 0)


def rle_iou_matrix(a: Sequence[Rle], b: Sequence[Rle]) -> FloatArray:
    """Pairwise IoU of masks given as RLEs, all of the same size.

    a: N RLEs, b: M RLEs. Returns (N, M) float64 in [0, 1]; 0 where masks do not overlap or
    both are empty. Works on runs, never on pixels: for each mask of b, the number of its
    pixels before each run boundary of every mask of a comes from one searchsorted over all of
    a's runs, so the cost grows with the number of runs, not of pixels or pairs of runs.

    >>> left = rle_encode(np.array([[1, 0], [1, 0]]))
    >>> top = rle_encode(np.array([[1, 1], [0, 0]]))
    >>> rle_iou_matrix([left], [top]).round(3)
    array([[0.333]])
    """
    ia = [_intervals(r) for r in a]
    ib = [_intervals(r) for r in b]
    sizes = {s for *_, s in ia} | {s for *_, s in ib}
    shapes = {tuple(int(v) for v in r["size"]) for r in [*a, *b]}
    if len(shapes) > 1 or len(sizes) > 1:
        raise ValueError(f"all masks must have the same size, got {sorted(shapes)}")
    out = np.zeros((len(ia), len(ib)), dtype=np.float64)
    if not ia or not ib:
        return out
    a_starts = np.concatenate([s for s, _, _ in ia])
    a_ends = np.concatenate([e for _, e, _ in ia])
    a_owner = np.repeat(np.arange(len(ia)), [len(s) for s, _, _ in ia])
    area_a = np.bincount(a_owner, weights=a_ends - a_starts, minlength=len(ia))
    area_b = np.array([float((e - s).sum()) for s, e, _ in ib])
    for j, (bs, be, _) in enumerate(ib):  # one vectorised pass per mask of b, not per pair
        if not len(bs) or not len(a_starts):
            continue
        cum = np.concatenate([[0], np.cumsum(be - bs)])  # pixels of b before its run k

        inter_runs = _covered(a_ends, bs, be, cum) - _covered(a_starts, bs, be, cum)
        out[:, j] = np.bincount(a_owner, weights=inter_runs, minlength=len(ia))
    union = area_a[:, None] + area_b[None, :] - out
    iou = np.zeros_like(out)
    np.divide(out, union, out=iou, where=union > 0)
    return iou
