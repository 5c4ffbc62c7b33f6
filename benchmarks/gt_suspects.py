"""GT error detection (issue #19, item 1): assay's combined suspicion vs cleanlab's model-only
scores, on the same seeded synthetic project, in one run.

    .venv/bin/python benchmarks/gt_suspects.py [--tasks 400] [--seed 0] [--error-rate 0.08]

Synthetic images (1600x1200, 2-8 objects, 4 labels). A GT copy of the true objects with planted
errors on `--error-rate` of its regions, a quarter of each kind: missing (a true object left out),
swapped (another label), badloc (the box shifted by 35-60 % of its size) and spurious (a box where
there is nothing). Three of four simulated annotators of known skill (miss rate, label confusion,
box jitter, false positives) label each image, and a detector of known skill predicts on every
image (recall, confusion, jitter, false positives, confidences). Both methods run through the
service's own scoring (`services.suspects.evidence.suspects_of_task`): "assay" with the
annotators and the model, "cleanlab" with the model only (cleanlab.object_detection.rank's
overlooked / swap / badly-located scores). A suspect finds a planted error when it names the
same task, kind and GT region (missing: its box at IoU >= 0.5 with the left-out object).
Precision and recall of the top k suspects per kind, k = the planted count and twice it, and
over all kinds. Prints a table and writes benchmarks/results/gt_suspects-<UTC timestamp>.json
and benchmarks/results/gt_suspects.json.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from assay.formats.regions import regions_from_label_studio
from assay.geometry import iou_matrix
from assay.metrics.gt_suspects import KINDS
from assay.services.suspects.evidence import TaskInput, _model_of, suspects_of_task

RESULTS = Path(__file__).resolve().parent / "results"
LABELS = ["Elephant", "Zebra", "Giraffe", "Buffalo"]
W, H = 1600.0, 1200.0


@dataclass(frozen=True)
class Skill:
    """Rates of one labeller: a true object missed, a wrong label, edge jitter (std, fraction
    of the box size), extra boxes per image (Poisson)."""

    name: str
    miss: float
    confusion: float
    jitter: float
    false_pos: float


ANNOTATORS = (
    Skill("good-1", 0.05, 0.03, 0.03, 0.10),
    Skill("good-2", 0.08, 0.05, 0.04, 0.15),
    Skill("fair-3", 0.12, 0.08, 0.05, 0.25),
    Skill("fair-4", 0.15, 0.10, 0.06, 0.30),
)
MODEL = Skill("detector", 0.12, 0.08, 0.05, 0.40)


def _random_boxes(rng: np.random.Generator, n: int) -> np.ndarray:
    wh = rng.uniform(60, 260, size=(n, 2))
    xy = rng.uniform(0, 1, size=(n, 2)) * (np.array([W, H]) - wh)
    return np.hstack([xy, xy + wh])


def _objects(rng: np.random.Generator) -> np.ndarray:
    """2-8 boxes that overlap each other little (IoU < 0.1)."""
    want = int(rng.integers(2, 9))
    boxes = _random_boxes(rng, 40)
    keep: list[int] = []
    for i in range(len(boxes)):
        if len(keep) == want:
            break
        if not keep or iou_matrix(boxes[i : i + 1], boxes[keep]).max() < 0.1:
            keep.append(i)
    return boxes[keep]


def _jitter(rng: np.random.Generator, boxes: np.ndarray, s: float) -> np.ndarray:
    size = np.tile(boxes[:, 2:] - boxes[:, :2], 2)
    out = boxes + rng.normal(0, s, boxes.shape) * size
    out[:, 2:] = np.maximum(out[:, 2:], out[:, :2] + 5)
    return np.clip(out, 0, [W, H, W, H])


def _other(rng: np.random.Generator, label: str) -> str:
    return str(rng.choice([x for x in LABELS if x != label]))


def _label(rng: np.random.Generator, skill: Skill, label: str) -> str:
    return _other(rng, label) if rng.random() < skill.confusion else label


def _ls(boxes: np.ndarray, labels: list[str], ids: list[str], scores: list[float] | None = None):
    out = []
    for i, (b, lab) in enumerate(zip(boxes, labels, strict=True)):
        item: dict[str, Any] = {
            "id": ids[i], "type": "rectanglelabels", "from_name": "label", "to_name": "image",
            "original_width": W, "original_height": H,
            "value": {"x": b[0] / W * 100, "y": b[1] / H * 100, "width": (b[2] - b[0]) / W * 100,
                      "height": (b[3] - b[1]) / H * 100, "rotation": 0,
                      "rectanglelabels": [lab]},
        }  # fmt: skip
        if scores is not None:
            item["score"] = scores[i]
        out.append(item)
    return out


def _labelled_by(rng, skill: Skill, boxes, labels, tag: str, model: bool = False):
    seen = rng.random(len(boxes)) >= skill.miss
    got = _jitter(rng, boxes[seen], skill.jitter)
    labs = [_label(rng, skill, lab) for lab, s in zip(labels, seen, strict=True) if s]
    extra = int(rng.poisson(skill.false_pos))
    got = np.vstack([got, _random_boxes(rng, extra)])
    labs += [str(rng.choice(LABELS)) for _ in range(extra)]
    scores = None
    if model:
        scores = list(rng.uniform(0.9, 1.0, int(seen.sum()))) + list(rng.uniform(0.3, 0.99, extra))
    return _ls(got, labs, [f"{tag}-{i}" for i in range(len(got))], scores)


def simulate(n_tasks: int, seed: int, error_rate: float):
    """TaskInputs as the service gathers them, and the planted errors: (task, kind, region id
    or the left-out box)."""
    rng = np.random.default_rng(seed)
    inputs, planted = [], []
    for t in range(n_tasks):
        boxes = _objects(rng)
        labels = [str(rng.choice(LABELS)) for _ in range(len(boxes))]
        gt_boxes, gt_labels, gt_ids = (
            boxes.copy(),
            list(labels),
            [f"g{i}" for i in range(len(boxes))],
        )
        keep = np.ones(len(boxes), bool)
        for i in np.flatnonzero(rng.random(len(boxes)) < error_rate):
            kind = str(rng.choice(KINDS))
            if kind == "missing":
                keep[i] = False
                planted.append((t, "missing", boxes[i]))
            elif kind == "swapped":
                gt_labels[i] = _other(rng, labels[i])
                planted.append((t, "swapped", gt_ids[i]))
            elif kind == "badloc":
                size = boxes[i, 2:] - boxes[i, :2]
                shift = rng.uniform(0.35, 0.6, 2) * size * rng.choice([-1, 1], 2)
                gt_boxes[i] = np.clip(boxes[i] + np.tile(shift, 2), 0, [W, H, W, H])
                planted.append((t, "badloc", gt_ids[i]))
            else:  # spurious: a box where no object is
                for _ in range(20):
                    b = _random_boxes(rng, 1)
                    if iou_matrix(b, boxes).max() == 0:
                        gt_boxes = np.vstack([gt_boxes, b])
                        gt_labels.append(str(rng.choice(LABELS)))
                        gt_ids.append(f"s{len(gt_ids)}")
                        keep = np.append(keep, True)
                        planted.append((t, "spurious", gt_ids[-1]))
                        break
        gt_result = _ls(gt_boxes[keep], [x for x, k in zip(gt_labels, keep, strict=True) if k],
                        [x for x, k in zip(gt_ids, keep, strict=True) if k])  # fmt: skip
        gt = regions_from_label_studio(gt_result).rectangles
        inp = TaskInput(t, W, H, t, 1, gt, {r["id"]: r for r in gt_result})
        for k in sorted(rng.choice(len(ANNOTATORS), 3, replace=False)):
            res = _labelled_by(rng, ANNOTATORS[k], boxes, labels, f"a{k}")
            inp.annotators.append((int(k), t * 10 + int(k),
                                   regions_from_label_studio(res).rectangles,
                                   {r["id"]: r for r in res}))  # fmt: skip
        pred = _labelled_by(rng, MODEL, boxes, labels, "p", model=True)
        inp.prediction = (t, "detector", regions_from_label_studio(pred).rectangles)
        inputs.append(inp)
    return inputs, planted


def _hits(suspect, planted_by_task) -> tuple[str, int, Any] | None:
    for kind, key in planted_by_task.get(suspect.task_id, []):
        if kind != suspect.kind:
            continue
        if kind == "missing":
            box = suspect.evidence["suggested"]["add"]["box"]
            if box is None:
                continue
            b = np.array([[box["x"] * W / 100, box["y"] * H / 100,
                           (box["x"] + box["width"]) * W / 100,
                           (box["y"] + box["height"]) * H / 100]])  # fmt: skip
            if iou_matrix(b, key[None, :])[0, 0] >= 0.5:
                return (kind, suspect.task_id, tuple(np.round(key, 1)))
        elif key == suspect.region_id:
            return (kind, suspect.task_id, key)
    return None


def evaluate(ranked, planted) -> dict[str, Any]:
    by_task: dict[int, list] = {}
    for t, kind, key in planted:
        by_task.setdefault(t, []).append((kind, key))
    out: dict[str, Any] = {}
    for kind in (*KINDS, "all"):
        n = sum(1 for p in planted if kind in ("all", p[1]))
        mine = [s for s in ranked if kind in ("all", s.kind)]
        row = {"planted": n}
        for mult in (1, 2):
            k = n * mult
            found = {h for s in mine[:k] if (h := _hits(s, by_task)) is not None}
            top = mine[:k]
            row[f"precision@{mult}n"] = round(
                sum(1 for s in top if _hits(s, by_task)) / max(len(top), 1), 3
            )
            row[f"recall@{mult}n"] = round(len(found) / max(n, 1), 3)
        out[kind] = row
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", type=int, default=400)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--error-rate", type=float, default=0.08)
    args = ap.parse_args()
    t0 = time.perf_counter()
    inputs, planted = simulate(args.tasks, args.seed, args.error_rate)
    n_regions = sum(len(i.gt) for i in inputs)
    t1 = time.perf_counter()
    model = _model_of(inputs)
    t2 = time.perf_counter()
    assay = [s for i in inputs for s in suspects_of_task(i, model[i.task_id], {}, 0.0)]
    t3 = time.perf_counter()
    alone = [
        s
        for i in inputs
        for s in suspects_of_task(
            TaskInput(i.task_id, i.width, i.height, i.gt_id, 1, i.gt, i.gt_items, [], i.prediction),
            model[i.task_id],
            {},
            0.0,
        )
    ]
    order = lambda xs: sorted(xs, key=lambda s: (-s.score, s.task_id, s.key))  # noqa: E731
    results = {
        "assay (annotators + model)": evaluate(order(assay), planted),
        "cleanlab (model only)": evaluate(order(alone), planted),
    }
    print(f"GT suspects: {args.tasks} tasks, {n_regions} GT regions, {len(planted)} planted "
          f"errors ({len(planted) / max(n_regions, 1):.1%}); 3 of 4 annotators per task + model")  # fmt: skip
    head = f"{'method':28} {'kind':9} {'n':>4} {'P@n':>6} {'R@n':>6} {'P@2n':>6} {'R@2n':>6}"
    print(head)
    print("-" * len(head))
    for method, per in results.items():
        for kind, row in per.items():
            print(f"{method:28} {kind:9} {row['planted']:>4} {row['precision@1n']:>6.3f} "
                  f"{row['recall@1n']:>6.3f} {row['precision@2n']:>6.3f} {row['recall@2n']:>6.3f}")  # fmt: skip
    print(f"simulate {t1 - t0:.1f} s, cleanlab {t2 - t1:.1f} s, assay scoring {t3 - t2:.1f} s")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    payload = {
        "benchmark": "gt_suspects", "at": stamp, "tasks": args.tasks, "seed": args.seed,
        "error_rate": args.error_rate, "gt_regions": n_regions, "planted": len(planted),
        "annotators": [a.__dict__ for a in ANNOTATORS], "model": MODEL.__dict__,
        "results": results,
    }  # fmt: skip
    RESULTS.mkdir(exist_ok=True)
    for name in (f"gt_suspects-{stamp}.json", "gt_suspects.json"):
        (RESULTS / name).write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
