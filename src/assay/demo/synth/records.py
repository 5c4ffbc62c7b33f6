"""What a survey is: its species, the true animals of each image, and the boxes people and
the model draw. Plain frozen records in pixels, origin top-left."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SPECIES: Final[tuple[str, ...]] = ("Elephant", "Giraffe", "Zebra", "Buffalo")


@dataclass(frozen=True, slots=True)
class Animal:
    """One true animal: the tightest axis-aligned box around its drawn body (shadow excluded).

    x, y: top-left corner in pixels, origin top-left of the image; w, h: size in pixels.
    A pixel belongs to the body when the body covers at least half of it.
    """

    label: str
    x: int
    y: int
    w: int
    h: int


@dataclass(frozen=True, slots=True)
class SyntheticImage:
    """One survey image on disk (`file_name` inside the survey's directory) and its animals."""

    file_name: str
    width: int
    height: int
    animals: tuple[Animal, ...]


@dataclass(frozen=True, slots=True)
class Survey:
    """A generated survey: its images in flight order and the species names used as labels."""

    images: tuple[SyntheticImage, ...]
    labels: tuple[str, ...] = SPECIES


@dataclass(frozen=True, slots=True)
class Box:
    """A box someone drew: label and (x, y, w, h) in pixels, origin top-left, floats."""

    label: str
    x: float
    y: float
    w: float
    h: float


@dataclass(frozen=True, slots=True)
class ScoredBox:
    """A model detection: label, (x, y, w, h) in pixels, origin top-left; score in [0, 1]."""

    label: str
    x: float
    y: float
    w: float
    h: float
    score: float


def overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two (x0, y0, x1, y1) boxes share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
