"""assay.geometry: IoU matrices (boxes, rotated boxes, polygons, RLE masks) and OKS, checked by
properties, hand-computed cases and reference implementations (shapely, pycocotools)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from assay.geometry import (
    box_area,
    check_boxes,
    iou_matrix,
    oks_matrix,
    pad_flat,
    pad_ragged,
    point_similarity_matrix,
    polygon_iou_matrix,
    polygons_from_points,
    rle_area,
    rle_compress,
    rle_decode,
    rle_decompress,
    rle_encode,
    rle_iou_matrix,
    rotated_corners,
    rotated_from_top_left,
    rotated_iou_matrix,
    rotated_to_xyxy,
    xywh_to_xyxy,
    xyxy_to_rotated,
    xyxy_to_xywh,
)
from assay.geometry.keypoints import COCO_PERSON_SIGMAS

coords = st.floats(0, 1000, allow_nan=False, allow_infinity=False)
sizes = st.floats(0.5, 500, allow_nan=False, allow_infinity=False)


@st.composite
def box_sets(draw: st.DrawFn, max_n: int = 8) -> np.ndarray:
    n = draw(st.integers(0, max_n))
    xy = draw(arrays(np.float64, (n, 2), elements=coords))
    wh = draw(arrays(np.float64, (n, 2), elements=sizes))
    return np.concatenate([xy, xy + wh], axis=1)


@st.composite
def rotated_sets(draw: st.DrawFn, max_n: int = 6) -> np.ndarray:
    n = draw(st.integers(0, max_n))
    c = draw(arrays(np.float64, (n, 2), elements=st.floats(0, 100)))
    wh = draw(arrays(np.float64, (n, 2), elements=st.floats(0.5, 60)))
    ang = draw(arrays(np.float64, (n, 1), elements=st.floats(-360, 360)))
    return np.concatenate([c, wh, ang], axis=1)


# -- axis-aligned boxes -----------------------------------------------------------------------


def test_iou_hand_computed() -> None:
    a = np.array([[0, 0, 10, 10], [0, 0, 2, 2]])
    b = np.array([[5, 0, 15, 10], [20, 20, 30, 30], [0, 0, 10, 10], [1, 1, 3, 3]])
    got = iou_matrix(a, b)
    want = np.array([[50 / 150, 0, 1, 4 / 100], [0, 0, 4 / 100, 1 / 7]])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    assert got.shape == (2, 4) and got.dtype == np.float64


def test_iou_touching_and_zero_area_boxes_are_zero() -> None:
    a = np.array([[0, 0, 10, 10], [5, 5, 5, 5]])
    b = np.array([[10, 0, 20, 10], [5, 5, 5, 5]])
    assert (iou_matrix(a, b) == 0).all()


def test_iou_empty_sets_give_empty_matrices() -> None:
    assert iou_matrix(np.zeros((0, 4)), np.array([[0, 0, 1, 1]])).shape == (0, 1)
    assert iou_matrix([], []).shape == (0, 0)


def test_iou_batch_dimensions_match_per_task_calls() -> None:
    rng = np.random.default_rng(3)
    xy = rng.uniform(0, 50, (7, 5, 2))
    a = np.concatenate([xy, xy + rng.uniform(1, 30, (7, 5, 2))], axis=-1)
    xy = rng.uniform(0, 50, (7, 4, 2))
    b = np.concatenate([xy, xy + rng.uniform(1, 30, (7, 4, 2))], axis=-1)
    batched = iou_matrix(a, b)
    assert batched.shape == (7, 5, 4)
    for t in range(7):
        np.testing.assert_array_equal(batched[t], iou_matrix(a[t], b[t]))


def test_bad_boxes_raise_naming_the_entry() -> None:
    with pytest.raises(ValueError, match=r"a\[1\] = \[5.0, 0.0, 4.0, 3.0\] has negative width"):
        iou_matrix([[0, 0, 1, 1], [5, 0, 4, 3]], [[0, 0, 1, 1]])
    with pytest.raises(ValueError, match=r"b\[0\] .* not finite"):
        iou_matrix([[0, 0, 1, 1]], [[0, 0, np.nan, 1]])
    with pytest.raises(ValueError, match=r"shape \(N, 4\)"):
        check_boxes([[0, 0, 1]])


@settings(max_examples=200, deadline=None)
@given(box_sets(), box_sets())
def test_iou_properties(a: np.ndarray, b: np.ndarray) -> None:
    ab, ba = iou_matrix(a, b), iou_matrix(b, a)
    np.testing.assert_array_equal(ab, ba.T)  # symmetric
    assert ((ab >= 0) & (ab <= 1)).all()
    np.testing.assert_array_equal(np.diag(iou_matrix(a, a)), np.ones(len(a)))


@settings(max_examples=100, deadline=None)
@given(box_sets(), box_sets())
def test_iou_agrees_with_shapely(a: np.ndarray, b: np.ndarray) -> None:
    pa, pb = shapely.box(*a.T), shapely.box(*b.T)
    inter = shapely.area(shapely.intersection(pa[:, None], pb[None, :]))
    union = shapely.area(pa)[:, None] + shapely.area(pb)[None, :] - inter
    np.testing.assert_allclose(iou_matrix(a, b), inter / union, atol=1e-9)


def test_xywh_round_trip_and_area() -> None:
    xywh = np.array([[10.0, 20.0, 5.0, 7.0], [0.0, 0.0, 0.0, 0.0]])
    xyxy = xywh_to_xyxy(xywh)
    np.testing.assert_array_equal(xyxy, [[10, 20, 15, 27], [0, 0, 0, 0]])
    np.testing.assert_array_equal(xyxy_to_xywh(xyxy), xywh)
    np.testing.assert_array_equal(box_area(xyxy), [35, 0])
    assert xywh.tolist() == [[10.0, 20.0, 5.0, 7.0], [0.0, 0.0, 0.0, 0.0]]  # input untouched


def test_pad_flat_and_pad_ragged() -> None:
    flat = np.arange(12.0).reshape(6, 2)
    padded, mask = pad_flat(flat, [3, 0, 2, 1], fill=-1)
    assert padded.shape == (4, 3, 2)
    assert mask.tolist() == [[1, 1, 1], [0, 0, 0], [1, 1, 0], [1, 0, 0]]
    np.testing.assert_array_equal(padded[mask], flat)
    assert (padded[~mask] == -1).all()
    p2, m2 = pad_ragged([flat[:3], flat[3:3], flat[3:5], flat[5:]], fill=-1)
    np.testing.assert_array_equal(p2, padded)
    np.testing.assert_array_equal(m2, mask)
    with pytest.raises(ValueError, match="counts sum to 5 but there are 6 rows"):
        pad_flat(flat, [5])


# -- rotated boxes ----------------------------------------------------------------------------


def _shapely_rotated_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    pa = shapely.polygons(rotated_corners(a)) if len(a) else np.empty(0, object)
    pb = shapely.polygons(rotated_corners(b)) if len(b) else np.empty(0, object)
    inter = shapely.area(shapely.intersection(pa[:, None], pb[None, :]))
    union = shapely.area(pa)[:, None] + shapely.area(pb)[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def test_rotated_iou_matches_shapely_on_random_boxes() -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n, m = rng.integers(1, 30, 2)
        a = np.c_[
            rng.uniform(0, 60, (n, 2)), rng.uniform(0.5, 40, (n, 2)), rng.uniform(-180, 180, n)
        ]
        b = np.c_[
            rng.uniform(0, 60, (m, 2)), rng.uniform(0.5, 40, (m, 2)), rng.uniform(-180, 180, m)
        ]
        b[: min(n, m) // 3] = a[: min(n, m) // 3]  # some identical pairs
        b[-1, 4] = a[0, 4] + 90  # and some right-angle turns
        np.testing.assert_allclose(rotated_iou_matrix(a, b), _shapely_rotated_iou(a, b), atol=1e-9)


def test_rotated_iou_hand_computed() -> None:
    # a 2x2 square against itself turned by 45 degrees: intersection is the regular octagon
    octagon = 8 * (np.sqrt(2) - 1)  # area of the octagon inscribed in a 2x2 square
    want = octagon / (8 - octagon)
    got = rotated_iou_matrix(
        [[0, 0, 2, 2, 0]], [[0, 0, 2, 2, 45], [0, 0, 2, 2, 90], [9, 9, 1, 1, 30]]
    )
    np.testing.assert_allclose(got, [[want, 1.0, 0.0]], atol=1e-12)


def test_rotated_iou_with_angle_zero_equals_axis_aligned() -> None:
    rng = np.random.default_rng(11)
    xy = rng.uniform(0, 50, (20, 2))
    a = np.c_[xy, xy + rng.uniform(1, 30, (20, 2))]
    xy = rng.uniform(0, 50, (15, 2))
    b = np.c_[xy, xy + rng.uniform(1, 30, (15, 2))]
    np.testing.assert_allclose(
        rotated_iou_matrix(xyxy_to_rotated(a), xyxy_to_rotated(b)), iou_matrix(a, b), atol=1e-12
    )


def test_rotated_iou_batch_dimensions() -> None:
    rng = np.random.default_rng(5)
    a = np.c_[
        rng.uniform(0, 20, (12, 2)), rng.uniform(1, 15, (12, 2)), rng.uniform(0, 90, 12)
    ].reshape(3, 4, 5)
    b = np.c_[
        rng.uniform(0, 20, (9, 2)), rng.uniform(1, 15, (9, 2)), rng.uniform(0, 90, 9)
    ].reshape(3, 3, 5)
    got = rotated_iou_matrix(a, b)
    assert got.shape == (3, 4, 3)
    for t in range(3):
        np.testing.assert_allclose(got[t], rotated_iou_matrix(a[t], b[t]), atol=1e-15)


@settings(max_examples=150, deadline=None)
@given(rotated_sets(), rotated_sets())
def test_rotated_iou_properties(a: np.ndarray, b: np.ndarray) -> None:
    ab = rotated_iou_matrix(a, b)
    np.testing.assert_allclose(ab, rotated_iou_matrix(b, a).T, atol=1e-9)
    assert ((ab >= 0) & (ab <= 1)).all()
    np.testing.assert_allclose(np.diag(rotated_iou_matrix(a, a)), np.ones(len(a)), atol=1e-9)
    np.testing.assert_allclose(ab, _shapely_rotated_iou(a, b), atol=1e-7)


def test_label_studio_rotation_is_about_the_top_left_corner() -> None:
    # Label Studio: x, y is the top-left corner; the box turns clockwise about it
    box = rotated_from_top_left([30], [40], [20], [10], [30])
    corners = rotated_corners(box)[0]
    np.testing.assert_allclose(corners[0], [30, 40], atol=1e-12)  # the pivot stays put
    a = np.deg2rad(30)
    np.testing.assert_allclose(corners[1], [30 + 20 * np.cos(a), 40 + 20 * np.sin(a)], atol=1e-12)
    # clockwise on screen (y down): the top edge turns downwards for a positive angle
    assert corners[1][1] > corners[0][1]
    env = rotated_to_xyxy(box)[0]
    np.testing.assert_allclose(
        env, [corners[:, 0].min(), corners[:, 1].min(), corners[:, 0].max(), corners[:, 1].max()]
    )


def test_rotated_bad_input_names_the_entry() -> None:
    with pytest.raises(ValueError, match=r"b\[1\] .* negative width or height"):
        rotated_iou_matrix([[0, 0, 1, 1, 0]], [[0, 0, 1, 1, 0], [0, 0, -1, 1, 0]])


# -- polygons ---------------------------------------------------------------------------------


def _random_polygons(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    out = []
    for _ in range(n):
        k = int(rng.integers(3, 9))
        centre = rng.uniform(0, 80, 2)
        angles = np.sort(rng.uniform(0, 2 * np.pi, k))
        radii = rng.uniform(2, 25, k)
        out.append(centre + np.c_[np.cos(angles), np.sin(angles)] * radii[:, None])  # star-shaped
    return out


def test_polygon_iou_matches_brute_force_shapely() -> None:
    rng = np.random.default_rng(2)
    a, b = _random_polygons(rng, 25), _random_polygons(rng, 18)
    b[:5] = a[:5]
    pa = [shapely.make_valid(shapely.Polygon(p)) for p in a]
    pb = [shapely.make_valid(shapely.Polygon(p)) for p in b]
    want = np.array([[p.intersection(q).area / p.union(q).area for q in pb] for p in pa])
    got = polygon_iou_matrix(a, b)
    np.testing.assert_allclose(got, want, atol=1e-9)
    np.testing.assert_allclose(np.diag(got[:5, :5]), 1.0, atol=1e-12)
    assert (got == 0).sum() > 0  # far-apart pairs are skipped by the tree and stay 0


def test_polygon_iou_hand_computed_and_geometry_input() -> None:
    square = [[0, 0], [10, 0], [10, 10], [0, 10]]
    triangle = [[0, 0], [10, 0], [0, 10]]  # half the square
    far = [[100, 100], [110, 100], [110, 110]]
    got = polygon_iou_matrix([square], polygons_from_points([triangle, far, square[::-1]]))
    np.testing.assert_allclose(got, [[0.5, 0.0, 1.0]], atol=1e-12)
    assert polygon_iou_matrix([], [square]).shape == (0, 1)


def test_self_intersecting_polygon_is_repaired_not_an_error() -> None:
    bow_tie = [[0, 0], [2, 2], [2, 0], [0, 2]]  # two triangles of area 1 each
    square = [[0, 0], [2, 0], [2, 2], [0, 2]]
    np.testing.assert_allclose(polygon_iou_matrix([bow_tie], [square]), [[0.5]], atol=1e-12)


def test_polygon_bad_input_names_the_entry() -> None:
    with pytest.raises(ValueError, match=r"polygon\[1\] needs at least 3 vertices"):
        polygons_from_points([[[0, 0], [1, 0], [1, 1]], [[0, 0], [1, 1]]])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_polygon_iou_properties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a, b = (
        _random_polygons(rng, int(rng.integers(0, 6))),
        _random_polygons(rng, int(rng.integers(0, 6))),
    )
    ab = polygon_iou_matrix(a, b)
    np.testing.assert_allclose(ab, polygon_iou_matrix(b, a).T, atol=1e-12)
    assert ((ab >= 0) & (ab <= 1)).all()
    np.testing.assert_allclose(np.diag(polygon_iou_matrix(a, a)), 1.0, atol=1e-12)


# -- masks (RLE) -------------------------------------------------------------------------------


def _random_masks(rng: np.random.Generator, n: int, h: int, w: int) -> list[np.ndarray]:
    masks = []
    for i in range(n):
        kind = i % 4
        if kind == 0:
            m = rng.random((h, w)) < rng.uniform(0.05, 0.95)
        elif kind == 1:  # blobby rectangles
            m = np.zeros((h, w), bool)
            y0, x0 = rng.integers(0, h), rng.integers(0, w)
            m[y0 : y0 + rng.integers(1, h + 1), x0 : x0 + rng.integers(1, w + 1)] = True
        elif kind == 2:
            m = np.zeros((h, w), bool)
        else:
            m = np.ones((h, w), bool)
        masks.append(m)
    return masks


def test_rle_matches_pycocotools() -> None:
    from pycocotools import mask as coco_mask

    rng = np.random.default_rng(4)
    for h, w in [(1, 1), (1, 17), (23, 1), (40, 31), (64, 64)]:
        masks = _random_masks(rng, 9, h, w)
        ours = [rle_encode(m) for m in masks]
        theirs = [coco_mask.encode(np.asfortranarray(m.astype(np.uint8))) for m in masks]
        for m, r, t in zip(masks, ours, theirs, strict=True):
            assert r["size"] == list(t["size"])
            assert rle_compress(r["counts"]) == t["counts"].decode("ascii")
            assert rle_decompress(t["counts"]) == r["counts"]
            np.testing.assert_array_equal(rle_decode(r), m)
            np.testing.assert_array_equal(
                rle_decode({"size": r["size"], "counts": t["counts"].decode()}), m
            )
            assert rle_area(r) == int(coco_mask.area(t)) == int(m.sum())
        got = rle_iou_matrix(ours, ours[::-1])
        want = coco_mask.iou(theirs, theirs[::-1], [0] * len(theirs))
        np.testing.assert_allclose(got, want, atol=1e-12)


def test_rle_hand_computed() -> None:
    mask = np.array([[0, 1, 1], [0, 1, 0]])  # column-major: 0 0 1 1 1 0
    assert rle_encode(mask) == {"size": [2, 3], "counts": [2, 3, 1]}
    assert rle_encode(np.ones((2, 2)))["counts"] == [0, 4]
    left = rle_encode(np.array([[1, 0], [1, 0]]))
    full = rle_encode(np.ones((2, 2)))
    empty = rle_encode(np.zeros((2, 2)))
    np.testing.assert_allclose(
        rle_iou_matrix([left, empty], [full, empty, left]), [[0.5, 0, 1], [0, 0, 0]]
    )


def test_rle_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="counts sum to 3, expected 2 \\* 2 = 4"):
        rle_decode({"size": [2, 2], "counts": [1, 2]})
    with pytest.raises(ValueError, match="same size"):
        rle_iou_matrix([rle_encode(np.ones((2, 2)))], [rle_encode(np.ones((2, 3)))])


# -- keypoints ---------------------------------------------------------------------------------


def test_oks_matches_pycocotools() -> None:
    from pycocotools.cocoeval import COCOeval

    rng = np.random.default_rng(9)
    k = len(COCO_PERSON_SIGMAS)
    n_gt, n_dt = 6, 8
    gt = np.zeros((n_gt, k, 3))
    gt[..., :2] = rng.uniform(0, 200, (n_gt, k, 2))
    gt[..., 2] = rng.integers(0, 3, (n_gt, k))
    gt[0, :, 2] = 0  # no labeled keypoint: COCO falls back to the box
    gt_xywh = np.c_[rng.uniform(0, 100, (n_gt, 2)), rng.uniform(10, 100, (n_gt, 2))]
    areas = rng.uniform(500, 8000, n_gt)
    dt = gt[rng.integers(0, n_gt, n_dt), :, :2] + rng.normal(0, 6, (n_dt, k, 2))

    ev = COCOeval(iouType="keypoints")
    ev._gts = defaultdict(list)
    ev._dts = defaultdict(list)
    ev._gts[1, 1] = [
        {
            "keypoints": gt[i].reshape(-1).tolist(),
            "bbox": gt_xywh[i].tolist(),
            "area": float(areas[i]),
        }
        for i in range(n_gt)
    ]
    ev._dts[1, 1] = [
        {"keypoints": np.c_[dt[j], np.ones(k)].reshape(-1).tolist(), "score": 1.0 - j / 100}
        for j in range(n_dt)
    ]
    want = np.asarray(ev.computeOks(1, 1)).T  # pycocotools: (detections, ground truth)
    got = oks_matrix(gt, dt, COCO_PERSON_SIGMAS, areas, gt_boxes=xywh_to_xyxy(gt_xywh))
    np.testing.assert_allclose(got, want, atol=1e-12)
    # without boxes a ground truth with no labeled keypoint scores 0
    assert (oks_matrix(gt, dt, COCO_PERSON_SIGMAS, areas)[0] == 0).all()


def test_oks_hand_computed_and_shape_errors() -> None:
    gt = np.array([[[0.0, 0.0, 2.0], [10.0, 0.0, 0.0]]])
    dt = np.array([[[3.0, 4.0], [500.0, 500.0]]])  # second keypoint unlabeled in GT: ignored
    sig, area = np.array([0.5, 0.5]), np.array([25.0])
    want = np.exp(-25 / ((2 * 0.5) ** 2) / (25 + np.spacing(1)) / 2)
    np.testing.assert_allclose(oks_matrix(gt, dt, sig, area), [[want]])
    with pytest.raises(ValueError, match=r"gt must have shape \(N, 2, 3\)"):
        oks_matrix(gt[..., :2], dt, sig, area)


def test_point_similarity() -> None:
    got = point_similarity_matrix([[0, 0], [10, 10]], [[3, 4]], sigma=5)
    np.testing.assert_allclose(got, [[np.exp(-0.5)], [np.exp(-(49 + 36) / 50)]])
    with pytest.raises(ValueError, match="sigma"):
        point_similarity_matrix([[0, 0]], [[0, 0]], sigma=0)


def test_point_similarity_with_a_sigma_per_row_is_the_direct_formula() -> None:
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0, 200, (7, 2)), rng.uniform(0, 200, (5, 2))
    a[2] = b[4]  # an exact hit: 1 whatever the sigma
    sig = rng.uniform(0.5, 60, 7)
    want = np.array(
        [
            [np.exp(-((ax - bx) ** 2 + (ay - by) ** 2) / (2 * s**2)) for bx, by in b]
            for (ax, ay), s in zip(a, sig, strict=True)
        ]
    )
    got = point_similarity_matrix(a, b, sigma=sig)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
    assert got[2, 4] == 1.0
    # one sigma for all is the same as that sigma repeated per row
    np.testing.assert_allclose(
        point_similarity_matrix(a, b, sigma=7.5), point_similarity_matrix(a, b, [7.5] * 7)
    )
    # tiny and huge sigmas: 0 or 1, never nan
    tiny = point_similarity_matrix([[0, 0], [1, 1]], [[0, 0]], sigma=[1e-320, 1e-320])
    assert tiny.tolist() == [[1.0], [0.0]]
    assert point_similarity_matrix([[0, 0]], [[3, 4]], sigma=[1e300]).tolist() == [[1.0]]
    assert point_similarity_matrix(np.zeros((0, 2)), b, sigma=[]).shape == (0, 5)
    for bad in ([1.0, 2.0], [5.0] * 6 + [0.0], [5.0] * 6 + [np.nan], [np.inf] * 7):
        with pytest.raises(ValueError, match="sigma"):
            point_similarity_matrix(a, b, sigma=bad)


@pytest.mark.parametrize(
    "module",
    [
        "assay.geometry.boxes",
        "assay.geometry.rotated",
        "assay.geometry.polygons",
        "assay.geometry.masks",
        "assay.geometry.keypoints",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
