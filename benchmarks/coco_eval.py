"""COCO bbox evaluation, side by side: pycocotools, faster-coco-eval and assay.

Run standalone:   .venv/bin/python benchmarks/coco_eval.py [--quick] [--no-memory] [--no-whole]
From `make bench`: import this file and call `run(quick=False)`; it returns the result dict
(`format_table(result)` renders it). --quick: 500 images, 10k detections (seconds, not
minutes); --no-memory: skip the peak-memory runs; --no-whole: skip the whole-process runs.

Whole process (issue 20, item 4): the same data written to two JSON files, then each tool as a
fresh process, from interpreter start to the printed stats: `assay evaluate --coco --gt GT
--pred DETS --json` (`python -m assay.cli`, the assay this script imports) beside a script that
runs pycocotools' or faster-coco-eval's `COCO(GT)`, `loadRes(DETS)`, evaluate, accumulate,
summarize. Bytecode caching is on for all (PYTHONDONTWRITEBYTECODE is dropped) and each fast
tool has one untimed warm-up run, as an installed tool would; same repeats as in memory.

Workload (issue 6, item 7): 5,000 images, 34,845 GT boxes over 80 categories (sizes spread over
COCO's small / medium / large ranges, about 1 % crowd regions, the `area` field smaller than the
box as for segmentation areas), 100,000 detections (jittered copies of GT, duplicates, wrong-class
and background false positives, scores rounded to 3 decimals so that ties occur). Every tool gets
the same in-memory data, from parsed JSON to the 12 stats; the copies that pycocotools and
faster-coco-eval mutate are made outside the timed region. Times are wall seconds (pycocotools
once, the fast ones best of 3); peak memory is tracemalloc's peak during one extra, untimed run
of each tool: Python objects and numpy arrays, not memory that a C++ extension (faster-coco-eval's
core) allocates itself. The machine's load average is recorded before and after: on a shared
machine, rerun when it is well above 0. The JSON result is written to
benchmarks/results/coco-<UTC timestamp>.json.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import io
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

FULL = {"n_images": 5000, "n_gt": 34_845, "n_categories": 80, "n_dets": 100_000}
QUICK = {"n_images": 500, "n_gt": 3_485, "n_categories": 80, "n_dets": 10_000}


def make_data(
    n_images: int, n_gt: int, n_categories: int, n_dets: int, seed: int = 0
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Synthetic COCO ground truth (parsed JSON dict) and bbox detections (list of dicts)."""
    rng = np.random.default_rng(seed)
    width, height = 640.0, 480.0
    images = [
        {"id": i + 1, "width": int(width), "height": int(height), "file_name": f"{i + 1:06d}.jpg"}
        for i in range(n_images)
    ]
    # Non-contiguous ids like COCO's (1..90 with gaps); a long-tailed class frequency.
    cat_ids = np.sort(rng.choice(np.arange(1, n_categories + 11), n_categories, replace=False))
    categories = [
        {"id": int(c), "name": f"class_{int(c)}", "supercategory": "thing"} for c in cat_ids
    ]
    cat_p = 1.0 / np.arange(1, n_categories + 1) ** 0.9
    cat_p /= cat_p.sum()
    img_p = rng.gamma(2.0, 1.0, n_images)
    img_p /= img_p.sum()

    gt_img = np.sort(rng.choice(n_images, n_gt, p=img_p)) + 1
    gt_cat = cat_ids[rng.choice(n_categories, n_gt, p=cat_p)]
    side = np.exp(rng.normal(np.log(50.0), 1.0, n_gt))
    aspect = np.exp(rng.normal(0.0, 0.5, n_gt))
    w = np.clip(side * np.sqrt(aspect), 2.0, width)
    h = np.clip(side / np.sqrt(aspect), 2.0, height)
    x = rng.uniform(0, 1, n_gt) * (width - w)
    y = rng.uniform(0, 1, n_gt) * (height - h)
    crowd = rng.random(n_gt) < 0.01
    area = w * h * rng.uniform(0.55, 0.95, n_gt)
    gt_boxes = np.round(np.stack([x, y, w, h], axis=1), 2)
    annotations = [
        {
            "id": i + 1,
            "image_id": int(gt_img[i]),
            "category_id": int(gt_cat[i]),
            "bbox": gt_boxes[i].tolist(),
            "area": float(round(area[i], 2)),
            "iscrowd": int(crowd[i]),
        }
        for i in range(n_gt)
    ]
    gt = {"images": images, "annotations": annotations, "categories": categories}

    # Detections: most GTs found once (some twice), localisation noise grows for small boxes.
    found = rng.random(n_gt) < 0.85
    twice = found & (rng.random(n_gt) < 0.1)
    src = np.concatenate([np.flatnonzero(found), np.flatnonzero(twice)])
    n_tp = len(src)
    noise = rng.normal(0.0, 1.0, (n_tp, 4)) * np.array([0.08, 0.08, 0.1, 0.1])
    sb = gt_boxes[src]
    tb = np.stack(
        [
            sb[:, 0] + noise[:, 0] * sb[:, 2],
            sb[:, 1] + noise[:, 1] * sb[:, 3],
            sb[:, 2] * np.exp(noise[:, 2]),
            sb[:, 3] * np.exp(noise[:, 3]),
        ],
        axis=1,
    )
    t_img, t_cat = gt_img[src], gt_cat[src]
    t_score = np.clip(rng.beta(5, 2, n_tp), 0.0, 1.0)
    # Wrong-class copies of GT boxes, and background boxes at random.
    n_fp = max(n_dets - n_tp, 0)
    n_wrong = n_fp // 3
    wsrc = rng.choice(n_gt, n_wrong)
    wb = gt_boxes[wsrc] * np.exp(rng.normal(0.0, 0.05, (n_wrong, 4)))
    w_img, w_cat = gt_img[wsrc], cat_ids[rng.choice(n_categories, n_wrong, p=cat_p)]
    w_score = rng.beta(2, 5, n_wrong)
    n_bg = n_fp - n_wrong
    bside = np.exp(rng.normal(np.log(40.0), 1.0, n_bg))
    bw = np.clip(bside * np.exp(rng.normal(0, 0.3, n_bg)), 1.0, width)
    bh = np.clip(bside * np.exp(rng.normal(0, 0.3, n_bg)), 1.0, height)
    bb = np.stack([rng.random(n_bg) * (width - bw), rng.random(n_bg) * (height - bh), bw, bh], 1)
    b_img = rng.choice(n_images, n_bg, p=img_p) + 1
    b_cat = cat_ids[rng.choice(n_categories, n_bg, p=cat_p)]
    b_score = rng.beta(1.5, 6, n_bg)

    boxes = np.round(np.concatenate([tb, wb, bb])[:n_dets], 2)
    boxes[:, 2:] = np.maximum(boxes[:, 2:], 0.01)
    d_img = np.concatenate([t_img, w_img, b_img])[:n_dets]
    d_cat = np.concatenate([t_cat, w_cat, b_cat])[:n_dets]
    d_score = np.round(np.concatenate([t_score, w_score, b_score])[:n_dets], 3)
    perm = rng.permutation(len(boxes))
    dets = [
        {
            "image_id": int(d_img[i]),
            "category_id": int(d_cat[i]),
            "bbox": boxes[i].tolist(),
            "score": float(d_score[i]),
        }
        for i in perm
    ]
    return gt, dets


def _pycocotools(gt: dict[str, Any], dets: list[dict[str, Any]]) -> np.ndarray:
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        coco_dt = coco_gt.loadRes(dets)
        ev = COCOeval(coco_gt, coco_dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats, dtype=np.float64)


def _faster_coco_eval(gt: dict[str, Any], dets: list[dict[str, Any]]) -> np.ndarray:
    from faster_coco_eval import COCO, COCOeval_faster

    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(gt)
        coco_dt = coco_gt.loadRes(dets)
        ev = COCOeval_faster(coco_gt, coco_dt, iouType="bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    return np.asarray(ev.stats[:12], dtype=np.float64)


def _assay(gt: dict[str, Any], dets: list[dict[str, Any]]) -> np.ndarray:
    from assay.metrics.coco import coco_evaluate

    return coco_evaluate(gt, dets).stats


TOOLS: dict[str, tuple[Callable[[dict[str, Any], list[dict[str, Any]]], np.ndarray], bool]] = {
    # name: (function, mutates its inputs)
    "pycocotools": (_pycocotools, True),
    "faster-coco-eval": (_faster_coco_eval, True),
    "assay": (_assay, False),
}


def _timed(name: str, gt: dict[str, Any], dets: list[dict[str, Any]]) -> tuple[float, np.ndarray]:
    fn, mutates = TOOLS[name]
    if mutates:
        gt, dets = copy.deepcopy(gt), copy.deepcopy(dets)
    gc.collect()
    t0 = time.perf_counter()
    stats = fn(gt, dets)
    return time.perf_counter() - t0, stats


def _peak_mib(name: str, gt: dict[str, Any], dets: list[dict[str, Any]]) -> float:
    fn, mutates = TOOLS[name]
    if mutates:
        gt, dets = copy.deepcopy(gt), copy.deepcopy(dets)
    gc.collect()
    tracemalloc.start()
    try:
        fn(gt, dets)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


# A whole pycocotools / faster-coco-eval run from files, as a user's script would do it.
_FILE_SCRIPT = """
import contextlib, io, json, sys
tool, gt_path, dets_path = sys.argv[1:]
if tool == "pycocotools":
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval as Eval
else:
    from faster_coco_eval import COCO, COCOeval_faster as Eval
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(gt_path)
    ev = Eval(gt, gt.loadRes(dets_path), iouType="bbox")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
print(json.dumps([float(v) for v in ev.stats[:12]]))
"""


def _whole_command(name: str, gt_path: Path, dets_path: Path) -> list[str]:
    if name == "assay":
        return [sys.executable, "-m", "assay.cli", "evaluate", "--coco", "--gt", str(gt_path),
                "--pred", str(dets_path), "--json"]  # fmt: skip
    return [sys.executable, "-c", _FILE_SCRIPT, name, str(gt_path), str(dets_path)]


def _whole_stats(name: str, stdout: str) -> np.ndarray:
    data = json.loads(stdout)
    values = list(data["stats"].values()) if name == "assay" else data
    return np.asarray(values, dtype=np.float64)


def run_whole(
    gt: dict[str, Any], dets: list[dict[str, Any]], repeats: int = 3
) -> dict[str, dict[str, Any]]:
    """Each tool as a fresh process on the same two files; wall seconds, best of `repeats`.

    `max_abs_stat_diff_vs_pycocotools` compares the printed stats (assay prints 6 decimals).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="coco-eval-") as tmp:
        gt_path, dets_path = Path(tmp) / "gt.json", Path(tmp) / "dets.json"
        gt_path.write_text(json.dumps(gt))
        dets_path.write_text(json.dumps(dets))
        for name in TOOLS:
            cmd = _whole_command(name, gt_path, dets_path)
            n = 1 if name == "pycocotools" else repeats
            if name != "pycocotools":
                subprocess.run(cmd, env=env, capture_output=True, check=True)  # warm-up
            times, stdout = [], ""
            for _ in range(n):
                t0 = time.perf_counter()
                done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
                times.append(time.perf_counter() - t0)
                stdout = done.stdout
            rows[name] = {"seconds": min(times), "all_seconds": times,
                          "stats": _whole_stats(name, stdout).tolist()}  # fmt: skip
    reference = np.asarray(rows["pycocotools"]["stats"])
    base = rows["pycocotools"]["seconds"]
    for row in rows.values():
        row["max_abs_stat_diff_vs_pycocotools"] = float(
            np.max(np.abs(np.asarray(row["stats"]) - reference))
        )
        row["speedup_vs_pycocotools"] = base / row["seconds"]
    rows["assay"]["speedup_vs_faster_coco_eval"] = (
        rows["faster-coco-eval"]["seconds"] / rows["assay"]["seconds"]
    )
    return rows


def run(
    quick: bool = False,
    repeats: int = 3,
    write: bool = True,
    memory: bool = True,
    whole: bool = True,
) -> dict[str, Any]:
    """Time the three tools on one synthetic data set; return (and write) the result dict.

    memory=False skips the peak-memory runs (pycocotools' one under tracemalloc takes minutes);
    `peak_mib` is then None.
    """
    scale = QUICK if quick else FULL
    load_before = os.getloadavg()
    gt, dets = make_data(**scale)
    rows: dict[str, dict[str, Any]] = {}
    reference: np.ndarray | None = None
    for name in TOOLS:
        n = 1 if name == "pycocotools" else repeats
        times, stats = [], None
        for _ in range(n):
            t, stats = _timed(name, gt, dets)
            times.append(t)
        assert stats is not None
        if reference is None:
            reference = stats
        rows[name] = {
            "seconds": min(times),
            "all_seconds": times,
            "stats": stats.tolist(),
            "max_abs_stat_diff_vs_pycocotools": float(np.max(np.abs(stats - reference))),
            "peak_mib": _peak_mib(name, gt, dets) if memory else None,
        }
    base = rows["pycocotools"]["seconds"]
    for row in rows.values():
        row["speedup_vs_pycocotools"] = base / row["seconds"]
    rows["assay"]["speedup_vs_faster_coco_eval"] = (
        rows["faster-coco-eval"]["seconds"] / rows["assay"]["seconds"]
    )
    result = {
        "benchmark": "coco_bbox_eval",
        "quick": quick,
        "workload": {**scale, "n_gt_crowd": sum(a["iscrowd"] for a in gt["annotations"])},
        "timestamp": datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"),
        "python": sys.version.split()[0],
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": {"before": load_before[0], "after": os.getloadavg()[0]},
        "tools": rows,
    }
    if whole:
        import assay

        result["assay_src"] = str(Path(assay.__file__).resolve().parent)
        result["whole_process"] = run_whole(gt, dets, repeats)
        result["load_average_1m"]["after_whole"] = os.getloadavg()[0]
    if write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        path = RESULTS / f"coco-{result['timestamp']}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        result["path"] = str(path)
    return result


def format_table(result: dict[str, Any]) -> str:
    """The result as a plain-text table."""
    lines = [
        f"COCO bbox eval: {result['workload']['n_images']} images, "
        f"{result['workload']['n_gt']} GT ({result['workload']['n_gt_crowd']} crowd), "
        f"{result['workload']['n_dets']} detections",
        f"{'tool':<18}{'seconds':>9}{'vs pycoco':>11}{'max |dAP|':>12}{'peak MiB':>10}",
    ]
    for name, row in result["tools"].items():
        peak = "-" if row["peak_mib"] is None else f"{row['peak_mib']:.1f}"
        lines.append(
            f"{name:<18}{row['seconds']:>9.3f}{row['speedup_vs_pycocotools']:>10.1f}x"
            f"{row['max_abs_stat_diff_vs_pycocotools']:>12.1e}{peak:>10}"
        )
    lines.append(
        f"assay vs faster-coco-eval: {result['tools']['assay']['speedup_vs_faster_coco_eval']:.1f}x"
    )
    if "whole_process" in result:
        lines.append(f"whole process, files to printed stats (assay from {result['assay_src']})")
        lines.append(f"{'tool':<18}{'seconds':>9}{'vs pycoco':>11}{'max |dAP|':>12}")
        for name, row in result["whole_process"].items():
            lines.append(
                f"{name:<18}{row['seconds']:>9.3f}{row['speedup_vs_pycocotools']:>10.1f}x"
                f"{row['max_abs_stat_diff_vs_pycocotools']:>12.1e}"
            )
        speedup = result["whole_process"]["assay"]["speedup_vs_faster_coco_eval"]
        lines.append(f"assay vs faster-coco-eval, whole process: {speedup:.1f}x")
    load = result["load_average_1m"]
    lines.append(f"load average (1 min) before / after: {load['before']:.2f} / {load['after']:.2f}")
    if "path" in result:
        lines.append(f"written: {result['path']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    unknown = set(args) - {"--quick", "--no-memory", "--no-whole"}
    if unknown:
        print("usage: coco_eval.py [--quick] [--no-memory] [--no-whole]", file=sys.stderr)
        return 2
    result = run(
        quick="--quick" in args, memory="--no-memory" not in args, whole="--no-whole" not in args
    )
    print(format_table(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
