"""Micro-benchmark of the pure quality core (not a test): full recompute and one-task rescoring.

    .venv/bin/python benchmarks/quality_core.py [--tasks 100000] [--chunk 20000]

Synthetic project: every task has 5 ground-truth boxes; 3 annotators each draw the boxes with
pixel jitter, sometimes a wrong label, a missed box or an extra box. Data arrives as flat
arrays in task order (as rows read from a database), then per chunk of tasks: pad, IoU, match,
count, per-label counts, confusion matrix, and inter-annotator agreement (3 pairs per task);
finally aggregates per annotator. Single-task rescoring runs the one-task functions (including
conflicts and parsing Label Studio JSON) for GT + 3 annotations.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
import tracemalloc

import numpy as np

from assay.formats.regions import (
    rectangle_iou_matrix,
    rectangles_from_label_studio_many,
    regions_from_label_studio,
)
from assay.geometry import iou_matrix, pad_flat
from assay.metrics import (
    aggregate,
    agreement_matrix,
    confusion_matrix_batch,
    count_batch,
    count_matches,
    encode_labels,
    find_conflicts,
    label_counts_batch,
    match_batch,
    match_regions,
    task_agreement_matrix,
)

LABELS = ["Elephant", "Zebra", "Giraffe", "Buffalo"]
W, H = 1024.0, 768.0


def make_project(n_tasks: int, n_annotators: int = 3, boxes: int = 5, seed: int = 0):
    rng = np.random.default_rng(seed)
    gt_counts = np.full(n_tasks, boxes)
    xy = rng.uniform(0, 800, (n_tasks * boxes, 2))
    wh = rng.uniform(20, 200, (n_tasks * boxes, 2))
    gt = np.c_[xy, xy + wh]
    gt_labels = rng.integers(0, len(LABELS), n_tasks * boxes)
    # annotations: a copy of the GT with jitter, label flips, misses and extras
    n_ann = n_tasks * n_annotators
    ann_task = np.repeat(np.arange(n_tasks), n_annotators)
    ann_annotator = np.tile(np.arange(n_annotators), n_tasks)
    src = (ann_task[:, None] * boxes + np.arange(boxes)[None, :]).reshape(-1)
    keep = rng.random(len(src)) > 0.05  # 5 % missed
    src = src[keep]
    owner = np.repeat(np.arange(n_ann), boxes)[keep]
    jitter = rng.normal(0, 4, (len(src), 4))
    ann = gt[src] + jitter
    ann[:, 2:] = np.maximum(ann[:, 2:], ann[:, :2] + 1)
    ann_labels = np.where(
        rng.random(len(src)) < 0.05, rng.integers(0, len(LABELS), len(src)), gt_labels[src]
    )
    n_extra = int(0.05 * n_ann * boxes)
    extra_owner = rng.integers(0, n_ann, n_extra)
    exy = rng.uniform(0, 800, (n_extra, 2))
    extra = np.c_[exy, exy + rng.uniform(20, 200, (n_extra, 2))]
    owner = np.concatenate([owner, extra_owner])
    ann = np.concatenate([ann, extra])
    ann_labels = np.concatenate([ann_labels, rng.integers(0, len(LABELS), n_extra)])
    order = np.argsort(owner, kind="stable")  # rows in annotation order, as from a database
    ann, ann_labels, owner = ann[order], ann_labels[order], owner[order]
    ann_counts = np.bincount(owner, minlength=n_ann)
    return dict(
        gt=gt, gt_labels=gt_labels, gt_counts=gt_counts,
        ann=ann, ann_labels=ann_labels, ann_counts=ann_counts,
        ann_task=ann_task, ann_annotator=ann_annotator, n_annotators=n_annotators,
    )  # fmt: skip


def full_recompute(p: dict, chunk: int, method: str = "hungarian") -> dict:
    n_tasks = len(p["gt_counts"])
    n_ann_per = p["n_annotators"]
    gt_off = np.concatenate([[0], np.cumsum(p["gt_counts"])])
    ann_off = np.concatenate([[0], np.cumsum(p["ann_counts"])])
    tables, label_tables, confusion = [], [], np.zeros((5, 5), np.int64)
    pair_a, pair_b, pair_v = [], [], []
    stage = dict.fromkeys(["pad", "iou", "match", "count", "agreement"], 0.0)
    for t0 in range(0, n_tasks, chunk):
        t1 = min(t0 + chunk, n_tasks)
        a0, a1 = t0 * n_ann_per, t1 * n_ann_per
        s = time.perf_counter()
        g_rows = slice(gt_off[t0], gt_off[t1])
        a_rows = slice(ann_off[a0], ann_off[a1])
        gt_b, gt_m = pad_flat(p["gt"][g_rows], p["gt_counts"][t0:t1])
        gl_b, _ = pad_flat(p["gt_labels"][g_rows], p["gt_counts"][t0:t1], fill=-1)
        an_b, an_m = pad_flat(p["ann"][a_rows], p["ann_counts"][a0:a1])
        al_b, _ = pad_flat(p["ann_labels"][a_rows], p["ann_counts"][a0:a1], fill=-1)
        task_of = p["ann_task"][a0:a1] - t0
        stage["pad"] += time.perf_counter() - s

        s = time.perf_counter()
        iou = iou_matrix(gt_b[task_of], an_b)
        stage["iou"] += time.perf_counter() - s
        s = time.perf_counter()
        bm = match_batch(
            iou, gl_b[task_of], al_b, method=method, gt_mask=gt_m[task_of], pred_mask=an_m
        )
        stage["match"] += time.perf_counter() - s
        s = time.perf_counter()
        tables.append(count_batch(bm, gl_b[task_of], al_b))
        label_tables.append(label_counts_batch(bm, gl_b[task_of], al_b, len(LABELS)))
        confusion += confusion_matrix_batch(
            match_batch(iou, gl_b[task_of], al_b, label_aware=False, gt_mask=gt_m[task_of], pred_mask=an_m),
            gl_b[task_of], al_b, len(LABELS),
        )  # fmt: skip
        stage["count"] += time.perf_counter() - s

        # inter-annotator agreement: every pair of annotators on each task
        s = time.perf_counter()
        base = np.arange(t1 - t0) * n_ann_per
        for i in range(n_ann_per):
            for j in range(i + 1, n_ann_per):
                x, y = base + i, base + j
                pm = match_batch(
                    iou_matrix(an_b[x], an_b[y]),
                    al_b[x],
                    al_b[y],
                    gt_mask=an_m[x],
                    pred_mask=an_m[y],
                )
                pair_v.append(count_batch(pm, al_b[x], al_b[y]).accuracy)
                pair_a.append(np.full(len(x), i))
                pair_b.append(np.full(len(x), j))
        stage["agreement"] += time.perf_counter() - s

    s = time.perf_counter()
    from assay.metrics import CountTable

    table = CountTable(
        *(
            np.concatenate([getattr(t, f) for t in tables])
            for f in ("tp", "fp", "fn", "matched", "iou_sum")
        )
    )
    per_annotator = aggregate(table, p["ann_annotator"], n_groups=n_ann_per)
    mean_pair, _ = agreement_matrix(
        np.concatenate(pair_a), np.concatenate(pair_b), np.concatenate(pair_v), n_ann_per
    )
    stage["aggregate"] = time.perf_counter() - s
    return dict(
        stage=stage,
        per_annotator=per_annotator,
        agreement=mean_pair,
        confusion=confusion,
        table=table,
    )


def one_task_rescore(p: dict, task: int) -> None:
    """Everything the server recomputes when one annotation of `task` changes (and a bit more:
    all three annotations, their conflicts, and the task's agreement)."""
    g0, g1 = task * 5, task * 5 + 5
    gt, gl = p["gt"][g0:g1], p["gt_labels"][g0:g1]
    ann_off = np.concatenate([[0], np.cumsum(p["ann_counts"])])
    boxes, labels = [], []
    for a in range(task * 3, task * 3 + 3):
        rows = slice(ann_off[a], ann_off[a + 1])
        boxes.append(p["ann"][rows])
        labels.append(p["ann_labels"][rows])
    for b, lab in zip(boxes, labels, strict=True):
        iou = iou_matrix(gt, b)
        m = match_regions(iou, gl, lab)
        count_matches(m, gl, lab)
        find_conflicts(iou, gl, lab, m)
    task_agreement_matrix(boxes, labels)


def to_ls(boxes: np.ndarray, labels: np.ndarray) -> list[dict]:
    return [
        {"id": f"r{i}", "type": "rectanglelabels", "from_name": "label", "to_name": "image",
         "original_width": W, "original_height": H,
         "value": {"x": 100 * b[0] / W, "y": 100 * b[1] / H, "width": 100 * (b[2] - b[0]) / W,
                   "height": 100 * (b[3] - b[1]) / H, "rotation": 0, "rectanglelabels": [LABELS[int(lab)]]}}
        for i, (b, lab) in enumerate(zip(boxes.tolist(), labels.tolist(), strict=True))
    ]  # fmt: skip


def one_task_from_json(results: list[list[dict]]) -> None:
    regs = [regions_from_label_studio(r, W, H).rectangles for r in results]
    gt = regs[0]
    gl = encode_labels(gt.labels, LABELS)
    for r in regs[1:]:
        iou = rectangle_iou_matrix(gt, r)
        lab = encode_labels(r.labels, LABELS)
        m = match_regions(iou, gl, lab)
        count_matches(m, gl, lab)
        find_conflicts(iou, gl, lab, m)
    task_agreement_matrix([r.xyxy for r in regs[1:]], [r.labels for r in regs[1:]])


def timed(fn, repeat: int) -> tuple[float, float]:
    times = []
    for _ in range(repeat):
        s = time.perf_counter()
        fn()
        times.append(time.perf_counter() - s)
    return statistics.median(times), max(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", type=int, default=100_000)
    ap.add_argument("--chunk", type=int, default=20_000)
    args = ap.parse_args()

    s = time.perf_counter()
    p = make_project(args.tasks)
    print(f"data: {args.tasks} tasks, {len(p['gt'])} GT boxes, {len(p['ann_counts'])} annotations, "
          f"{len(p['ann'])} annotated boxes (generated in {time.perf_counter() - s:.1f} s)")  # fmt: skip

    full_recompute(make_project(2000, seed=1), args.chunk)  # warm-up
    for method in ("hungarian", "greedy"):
        s, c = time.perf_counter(), time.process_time()
        out = full_recompute(p, args.chunk, method)
        total, cpu = time.perf_counter() - s, time.process_time() - c
        stages = ", ".join(f"{k} {v:.2f}" for k, v in out["stage"].items())
        print(
            f"full recompute ({method}, chunk {args.chunk}): {total:.2f} s wall, {cpu:.2f} s CPU  [{stages}]"
        )
    tracemalloc.start()
    full_recompute(p, args.chunk)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    agg = out["per_annotator"]
    print(f"  peak traced numpy/python memory {peak / 2**20:.0f} MiB; "
          f"max RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")  # fmt: skip
    print(f"  micro accuracy per annotator {agg.micro.accuracy.round(4).tolist()}, "
          f"macro {agg.macro_accuracy.round(4).tolist()}")  # fmt: skip
    print(f"  agreement (mean pairwise accuracy) 0-1 {out['agreement'][0, 1]:.4f}")

    med, worst = timed(lambda: one_task_rescore(p, 12345 % args.tasks), 200)
    print(
        f"one-task rescore (arrays; 3 annotations + conflicts + agreement): median {med * 1e3:.2f} ms, max {worst * 1e3:.2f} ms"
    )
    t = 777 % args.tasks
    ann_off = np.concatenate([[0], np.cumsum(p["ann_counts"])])
    results = [to_ls(p["gt"][t * 5 : t * 5 + 5], p["gt_labels"][t * 5 : t * 5 + 5])]
    for a in range(t * 3, t * 3 + 3):
        rows = slice(ann_off[a], ann_off[a + 1])
        results.append(to_ls(p["ann"][rows], p["ann_labels"][rows]))
    med, worst = timed(lambda: one_task_from_json(results), 200)
    print(
        f"one-task rescore from Label Studio JSON: median {med * 1e3:.2f} ms, max {worst * 1e3:.2f} ms"
    )

    many = [
        to_ls(p["ann"][i * 5 : i * 5 + 5], p["ann_labels"][i * 5 : i * 5 + 5])
        for i in range(20_000)
    ]
    s = time.perf_counter()
    for r in many:
        regions_from_label_studio(r, W, H).rectangles.xyxy  # noqa: B018
    el = time.perf_counter() - s
    print(
        f"Label Studio JSON -> arrays, one result per call: {len(many) / el:,.0f} results/s ({el / len(many) * 1e6:.0f} us per 5-box result)"
    )
    s = time.perf_counter()
    rects, counts = rectangles_from_label_studio_many(
        many, np.full(len(many), W), np.full(len(many), H)
    )
    encode_labels(rects.labels, LABELS)
    pad_flat(rects.xyxy, counts)
    el = time.perf_counter() - s
    print(
        f"Label Studio JSON -> padded arrays, bulk: {len(many) / el:,.0f} results/s ({el / len(many) * 1e6:.1f} us per 5-box result; 300k results ~ {300_000 * el / len(many):.1f} s)"
    )


if __name__ == "__main__":
    main()
