"""Simulated workers: annotators of three skill levels and the `MODEL_VERSION` detector, each
drawing boxes in pixels on a survey, deterministic for a seed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from assay.demo.synth.records import Animal, Box, ScoredBox, Survey, SyntheticImage, overlaps

MODEL_VERSION: Final = "survey-detector-v1"


@dataclass(frozen=True, slots=True)
class AnnotatorSkill:
    """How a simulated person labels.

    miss_rate: probability in [0, 1] that a true animal gets no box.
    confusion_rate: probability in [0, 1] that a drawn box gets another species' label.
    jitter: typical error of each box side as a fraction of the animal's width or height;
        sides land mostly outside the animal, so larger jitter means shifted, looser boxes.
    false_positive_rate: mean number (Poisson) of boxes per image drawn on empty ground.
    """

    miss_rate: float
    confusion_rate: float
    jitter: float
    false_positive_rate: float

    def __post_init__(self) -> None:
        for name in ("miss_rate", "confusion_rate"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        for name in ("jitter", "false_positive_rate"):
            value = getattr(self, name)
            if value < 0.0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")


SKILLED: Final = AnnotatorSkill(
    miss_rate=0.03, confusion_rate=0.02, jitter=0.04, false_positive_rate=0.05
)
AVERAGE: Final = AnnotatorSkill(
    miss_rate=0.10, confusion_rate=0.07, jitter=0.10, false_positive_rate=0.25
)
NOVICE: Final = AnnotatorSkill(
    miss_rate=0.25, confusion_rate=0.20, jitter=0.20, false_positive_rate=0.8
)


def _loosen(
    rng: np.random.Generator, animal: Animal, jitter: float, width: int, height: int
) -> tuple[float, float, float, float]:
    """Move each side of the true box by N(jitter/2, jitter/2) of the animal's size, mostly
    outward; returns (x, y, w, h) in pixels clipped to the image, at least 1 pixel each way."""
    left, top, right, bottom = rng.normal(jitter / 2, jitter / 2, 4)
    x0, x1 = animal.x - left * animal.w, animal.x + animal.w * (1.0 + right)
    y0, y1 = animal.y - top * animal.h, animal.y + animal.h * (1.0 + bottom)
    x0, x1 = max(0.0, x0), min(float(width), x1)
    y0, y1 = max(0.0, y0), min(float(height), y1)
    if x1 - x0 < 1.0:
        x0, x1 = animal.x, animal.x + animal.w
    if y1 - y0 < 1.0:
        y0, y1 = animal.y, animal.y + animal.h
    return round(x0, 2), round(y0, 2), round(x1 - x0, 2), round(y1 - y0, 2)


def _other_label(rng: np.random.Generator, label: str, labels: Sequence[str]) -> str:
    others = [x for x in labels if x != label]
    return str(others[int(rng.integers(len(others)))]) if others else label


def _ground_box(
    rng: np.random.Generator, image: SyntheticImage
) -> tuple[float, float, float, float] | None:
    """An animal-sized (x, y, w, h) box in pixels that touches no true animal, or None."""
    w, h = rng.uniform(18.0, 70.0, 2)
    if w >= image.width or h >= image.height:
        return None
    animals = [(a.x, a.y, a.x + a.w, a.y + a.h) for a in image.animals]
    for _ in range(20):
        x, y = rng.uniform(0.0, image.width - w), rng.uniform(0.0, image.height - h)
        if not any(overlaps((x, y, x + w, y + h), a) for a in animals):
            return round(x, 2), round(y, 2), round(w, 2), round(h, 2)
    return None


def simulate_annotator(survey: Survey, skill: AnnotatorSkill, seed: int) -> dict[str, list[Box]]:
    """What one person of the given skill would draw on every image: file_name -> boxes.

    Each true animal is missed with `skill.miss_rate`, otherwise boxed loosely (see
    `AnnotatorSkill.jitter`) and mislabelled with `skill.confusion_rate`; on top come a
    Poisson number of boxes on empty ground. Boxes are in pixels, in drawing order (shuffled).
    Use a different seed per simulated person.
    """
    result: dict[str, list[Box]] = {}
    for index, image in enumerate(survey.images):
        rng = np.random.default_rng([seed, index])
        boxes: list[Box] = []
        for animal in image.animals:
            if rng.random() < skill.miss_rate:
                continue
            label = animal.label
            if rng.random() < skill.confusion_rate:
                label = _other_label(rng, label, survey.labels)
            boxes.append(Box(label, *_loosen(rng, animal, skill.jitter, image.width, image.height)))
        for _ in range(int(rng.poisson(skill.false_positive_rate))):
            spot = _ground_box(rng, image)
            if spot is not None:
                label = survey.labels[int(rng.integers(len(survey.labels)))]
                boxes.append(Box(label, *spot))
        result[image.file_name] = [boxes[i] for i in rng.permutation(len(boxes))]
    return result


# The detector finds big grey elephants easily and small dark buffalo least often.
_MODEL_MISS_RATE: Final[dict[str, float]] = {
    "Elephant": 0.03,
    "Giraffe": 0.06,
    "Zebra": 0.10,
    "Buffalo": 0.13,
}


def simulate_model(survey: Survey, seed: int) -> dict[str, list[ScoredBox]]:
    """Detections of the `MODEL_VERSION` detector: file_name -> boxes by descending score.

    True animals are found most of the time (small ones and buffalo less often) with scores
    mostly above 0.6, occasionally with the wrong species at a middling score; some are
    detected twice (a lower-scored duplicate, as when non-maximum suppression slips); false
    detections on empty ground score mostly below 0.4. Boxes in pixels, scores in [0, 1].
    """
    result: dict[str, list[ScoredBox]] = {}
    for index, image in enumerate(survey.images):
        rng = np.random.default_rng([seed, index])
        dets: list[ScoredBox] = []
        for animal in image.animals:
            miss = _MODEL_MISS_RATE.get(animal.label, 0.08)
            if max(animal.w, animal.h) < 30:
                miss += 0.08
            if rng.random() < miss:
                continue
            box = _loosen(rng, animal, 0.05, image.width, image.height)
            if rng.random() < 0.05:
                label, score = _other_label(rng, animal.label, survey.labels), rng.beta(3.0, 4.0)
            else:
                label, score = animal.label, rng.beta(9.0, 2.0)
            dets.append(ScoredBox(label, *box, score=round(float(score), 4)))
            if rng.random() < 0.06:
                twin = _loosen(rng, animal, 0.15, image.width, image.height)
                twin_score = round(float(score * rng.uniform(0.3, 0.7)), 4)
                dets.append(ScoredBox(label, *twin, score=twin_score))
        for _ in range(int(rng.poisson(1.2))):
            spot = _ground_box(rng, image)
            if spot is not None:
                label = survey.labels[int(rng.integers(len(survey.labels)))]
                dets.append(ScoredBox(label, *spot, score=round(float(rng.beta(1.3, 5.0)), 4)))
        result[image.file_name] = sorted(dets, key=lambda d: d.score, reverse=True)
    return result
