"""Consensus simulation (issue #10, item 5): does reliability weighting beat uniform voting?

    .venv/bin/python benchmarks/consensus_sim.py [--scenes 600] [--seed 0]

Synthetic scenes (seeded): 1-8 ground-truth boxes each, 5 labels. A pool of 6 annotators of
known skill (miss rate, false positives per scene, label confusion rate, box jitter), two of
them bad; every scene is annotated by 3 annotators drawn at random from the pool. 10 % of the
scenes are honeypots: their ground truth gives each annotator's accuracy for the "accuracy"
weighting, as the server would have it. Every single annotator and every consensus method is
scored against ground truth on all scenes it covers (label-aware Hungarian matching at IoU 0.5,
micro precision / recall / F1 with `assay.metrics`). Prints a table and writes
benchmarks/results/consensus_sim-<UTC timestamp>.json and benchmarks/results/consensus_sim.json.
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

from assay.geometry import iou_matrix
from assay.metrics import Counts, count_matches, match_regions
from assay.metrics.consensus import AnnotatorRegions, merge_many

RESULTS = Path(__file__).resolve().parent / "results"
LABELS = ["Elephant", "Zebra", "Giraffe", "Buffalo", "Rhino"]
W, H = 1600.0, 1200.0


@dataclass(frozen=True)
class Skill:
    """An annotator's error rates: a box missed, extra random boxes per scene (Poisson), a wrong
    label (uniform among the others), and the box jitter (std of each edge, fraction of size)."""

    name: str
    miss: float
    false_pos: float
    confusion: float
    jitter: float


POOL = (
    Skill("good-1", 0.05, 0.10, 0.03, 0.03),
    Skill("good-2", 0.08, 0.20, 0.06, 0.04),
    Skill("good-3", 0.10, 0.20, 0.08, 0.05),
    Skill("fair-4", 0.15, 0.40, 0.15, 0.07),
    Skill("bad-5", 0.35, 1.50, 0.45, 0.12),
    Skill("bad-6", 0.45, 2.00, 0.55, 0.15),
)


@dataclass(frozen=True)
class Scene:
    gt: AnnotatorRegions
    annotators: tuple[str, ...]
    annotations: tuple[AnnotatorRegions, ...]


def random_boxes(rng: np.random.Generator, k: int) -> np.ndarray:
    wh = rng.uniform(40, 300, (k, 2))
    xy = rng.uniform(0, 1, (k, 2)) * (np.array([W, H]) - wh)
    return np.c_[xy, xy + wh]


def annotate(rng: np.random.Generator, gt: AnnotatorRegions, s: Skill) -> AnnotatorRegions:
    keep = rng.random(len(gt)) >= s.miss
    boxes = gt.boxes[keep].copy()
    size = np.repeat(boxes[:, 2:] - boxes[:, :2], 2, axis=0).reshape(-1, 4)[:, [0, 2, 1, 3]]
    boxes += rng.normal(0, s.jitter, boxes.shape) * size
    boxes = np.c_[np.minimum(boxes[:, :2], boxes[:, 2:]), np.maximum(boxes[:, :2], boxes[:, 2:])]
    codes = np.array([LABELS.index(v) for v in gt.labels[keep]], dtype=np.int64)
    wrong = rng.random(len(codes)) < s.confusion
    codes[wrong] = (codes[wrong] + rng.integers(1, len(LABELS), wrong.sum())) % len(LABELS)
    extra = rng.poisson(s.false_pos)
    boxes = np.r_[boxes, random_boxes(rng, extra)]
    codes = np.r_[codes, rng.integers(0, len(LABELS), extra)]
    return AnnotatorRegions(boxes, np.array(LABELS)[codes])


def make_scenes(n: int, seed: int, per_scene: int = 3) -> list[Scene]:
    rng = np.random.default_rng(seed)
    scenes = []
    for _ in range(n):
        k = int(rng.integers(1, 9))
        gt = AnnotatorRegions(random_boxes(rng, k), np.array(LABELS)[rng.integers(0, 5, k)])
        who = sorted(rng.choice(len(POOL), per_scene, replace=False).tolist())
        anns = tuple(annotate(rng, gt, POOL[i]) for i in who)
        scenes.append(Scene(gt, tuple(POOL[i].name for i in who), anns))
    return scenes


def score(gt: AnnotatorRegions, boxes: np.ndarray, labels: np.ndarray) -> Counts:
    m = match_regions(iou_matrix(gt.boxes, boxes), gt.labels, labels)  # label-aware, IoU 0.5
    return count_matches(m)


def row(name: str, c: Counts, **extra: Any) -> dict[str, Any]:
    return {
        "method": name,
        "precision": round(c.precision, 4),
        "recall": round(c.recall, 4),
        "f1": round(c.f1, 4),
        "tp": c.tp,
        "fp": c.fp,
        "fn": c.fn,
        **extra,
    }


def simulate(
    n_scenes: int = 600, seed: int = 0, honeypots: float = 0.1, quorum: float = 0.5
) -> dict[str, Any]:
    """Run the simulation; returns {"rows": [...], "weights": {...}, ...} (see module doc)."""
    scenes = make_scenes(n_scenes, seed)
    tasks = [s.annotations for s in scenes]
    who = [s.annotators for s in scenes]
    singles: dict[str, Counts] = {p.name: Counts() for p in POOL}
    honey: dict[str, Counts] = {p.name: Counts() for p in POOL}
    n_honey = max(1, round(honeypots * n_scenes))
    for i, s in enumerate(scenes):
        for name, ann in zip(s.annotators, s.annotations, strict=True):
            c = score(s.gt, ann.boxes, ann.labels)
            singles[name] += c
            if i < n_honey:
                honey[name] += c
    accuracy = {name: c.accuracy for name, c in honey.items() if c.tp + c.fp + c.fn}

    rows = [
        row(
            f"single {p.name}",
            singles[p.name],
            skill=p.__dict__,
            accuracy_on_honeypots=round(accuracy.get(p.name, float("nan")), 4),
        )
        for p in POOL
    ]
    pooled = sum(singles.values(), Counts())
    rows.append(row("single, any annotator (pooled)", pooled))
    methods = {
        "consensus, uniform": {"weighting": "uniform"},
        "consensus, accuracy-weighted": {"weighting": "accuracy", "accuracy": accuracy},
        "consensus, Dawid-Skene-weighted": {"weighting": "dawid_skene"},
    }
    weights: dict[str, dict[str, float]] = {}
    ties: dict[str, float] = {}
    for name, options in methods.items():
        out = merge_many(tasks, who, quorum=quorum, vocabulary=LABELS, **options)
        total = Counts()
        for s, r in zip(scenes, out.results, strict=True):
            total += score(s.gt, r.boxes, r.labels)
        weights[name] = {str(k): round(v, 3) for k, v in out.weights.items()}
        ties[name] = round(float(np.mean([r.tied for r in out.results])), 4)
        rows.append(row(name, total, tied_task_share=ties[name]))
    return {
        "benchmark": "consensus_sim",
        "seed": seed,
        "scenes": n_scenes,
        "annotators_per_scene": 3,
        "honeypot_share": honeypots,
        "quorum": quorum,
        "iou_threshold": 0.5,
        "pool": [p.__dict__ for p in POOL],
        "rows": rows,
        "weights": weights,
    }


def print_table(result: dict[str, Any]) -> None:
    print(f"{'method':34} {'precision':>9} {'recall':>7} {'F1':>7}")
    for r in result["rows"]:
        print(f"{r['method']:34} {r['precision']:9.3f} {r['recall']:7.3f} {r['f1']:7.3f}")
    for name, w in result["weights"].items():
        print(f"weights, {name}: {w}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenes", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    result = simulate(args.scenes, args.seed)
    result["started_at"] = started.isoformat()
    result["seconds"] = round(time.perf_counter() - t0, 2)
    try:
        from assay_bench.report import machine  # benchmarks/ is on sys.path when run as a script

        result["machine"] = machine()
    except ImportError:
        pass
    print_table(result)
    print(f"({result['seconds']} s)")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(result, indent=2) + "\n"
    for path in (RESULTS / f"consensus_sim-{stamp}.json", RESULTS / "consensus_sim.json"):
        path.write_text(text)
    print(f"wrote {RESULTS / 'consensus_sim.json'}")


if __name__ == "__main__":
    main()
