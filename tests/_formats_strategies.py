"""Hypothesis strategies shared by the tests of `assay.formats` (images and regions in pixels)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

from assay.formats.dataset import ImageRecord, RegionRecord
from assay.geometry.masks import rle_compress, rle_encode

LABELS = ("cat", "dog", "zebra crossing", 'Ünïcode, "quoted"')
names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=12)
texts = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20
).filter(lambda s: s.strip() == s and s != "")
iso_times = st.datetimes().map(lambda d: d.isoformat() + "Z")
unit = st.floats(0, 1, allow_nan=False)
scores = st.floats(0, 1, allow_nan=False)


@st.composite
def images(draw: st.DrawFn, key: str | None = None, **kw: object) -> ImageRecord:
    return ImageRecord(
        key=key or draw(names) + ".jpg",
        width=draw(st.integers(1, 4000)),
        height=draw(st.integers(1, 4000)),
        **kw,  # type: ignore[arg-type]
    )


@st.composite
def boxes(draw: st.DrawFn, image: ImageRecord, integral: bool = False, **kw: object):
    W, H = image.width, image.height
    if integral:
        x0, x1 = sorted(draw(st.lists(st.integers(0, W), min_size=2, max_size=2)))
        y0, y1 = sorted(draw(st.lists(st.integers(0, H), min_size=2, max_size=2)))
    else:
        x0, x1 = sorted(draw(unit) * W for _ in range(2))
        y0, y1 = sorted(draw(unit) * H for _ in range(2))
    return RegionRecord(
        image=image.key,
        label=draw(st.sampled_from(LABELS)),
        kind="box",
        x=float(x0),
        y=float(y0),
        w=float(x1 - x0),
        h=float(y1 - y0),
        **kw,  # type: ignore[arg-type]
    )


@st.composite
def polygons(draw: st.DrawFn, image: ImageRecord, **kw: object):
    n = draw(st.integers(3, 8))
    pts = tuple((draw(unit) * image.width, draw(unit) * image.height) for _ in range(n))
    return RegionRecord(
        image=image.key,
        label=draw(st.sampled_from(LABELS)),
        kind="polygon",
        points=pts,
        **kw,  # type: ignore[arg-type]
    )


@st.composite
def masks(draw: st.DrawFn, image: ImageRecord, **kw: object):
    h, w = image.height, image.width
    seed = draw(st.integers(0, 2**32 - 1))
    m = np.zeros((h, w), dtype=bool)
    rng = np.random.default_rng(seed)
    for _ in range(draw(st.integers(0, 3))):
        r0, c0 = rng.integers(0, h), rng.integers(0, w)
        m[r0 : r0 + rng.integers(1, 30), c0 : c0 + rng.integers(1, 30)] = True
    rle = rle_encode(m)
    if draw(st.booleans()):
        rle = {"size": rle["size"], "counts": rle_compress(rle["counts"])}
    return RegionRecord(
        image=image.key, label=draw(st.sampled_from(LABELS)), kind="mask", mask=rle, **kw
    )  # type: ignore[arg-type]


def close(a: float, b: float, tol: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=1e-12, abs_tol=tol)


def same_geometry(a: RegionRecord, b: RegionRecord, tol: float = 1e-9) -> bool:
    """Same kind and coordinates within `tol` pixels (plus 1e-12 relative)."""
    if a.kind != b.kind or a.label != b.label:
        return False
    if a.kind == "polygon":
        return len(a.points) == len(b.points) and all(
            close(p, q, tol)
            for pa, pb in zip(a.points, b.points, strict=True)
            for p, q in zip(pa, pb, strict=True)
        )
    if a.kind == "mask":
        return a.mask == b.mask
    fields = ("x", "y") if a.kind == "keypoint" else ("x", "y", "w", "h", "rotation")
    return all(close(getattr(a, f), getattr(b, f), tol) for f in fields)
