"""A synthetic aerial wildlife survey: images, true animals, simulated annotators and a model.

The demo project needs data a lab lead recognizes without downloading anything: nadir drone
images of savanna with elephants, giraffes, zebras and buffalo, the true box of every animal,
annotations from people of different skill and a detector's scored predictions. Everything
here is pure (numpy and Pillow, no database, no network) and deterministic for a seed.

Conventions: boxes are (x, y, w, h) in pixels of the original image, origin at the top-left
corner, x to the right, y down. Label Studio regions (`to_label_studio_result`) are in percent
(0-100) of the image width and height.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from PIL import Image, ImageDraw, ImageFilter

FloatArray = npt.NDArray[np.float32]
Points = npt.NDArray[np.float64]  # (K, 2) polygon vertices, x then y
RGB = tuple[int, int, int]

SPECIES: Final[tuple[str, ...]] = ("Elephant", "Giraffe", "Zebra", "Buffalo")
MODEL_VERSION: Final = "survey-detector-v1"
JPEG_QUALITY: Final = 85

# Region colours in the editor: saturated so they stand out on tan and green ground.
_LABEL_COLOURS: Final[dict[str, str]] = {
    "Elephant": "#E6194B",
    "Giraffe": "#FFE119",
    "Zebra": "#4363D8",
    "Buffalo": "#F032E6",
}

LABEL_CONFIG: Final = (
    "<View>\n"
    '  <Image name="image" value="$image" zoom="true"/>\n'
    '  <RectangleLabels name="label" toName="image">\n'
    + "".join(f'    <Label value="{s}" background="{_LABEL_COLOURS[s]}"/>\n' for s in SPECIES)
    + "  </RectangleLabels>\n"
    "</View>\n"
)


# --- public data ---------------------------------------------------------------------------


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


# --- species drawing -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Part:
    """A filled polygon of an animal in body units (body length 1, heading +x, centre 0).

    clip: paint only where earlier unclipped parts are (stripes, coat patches, highlights).
    """

    points: Points
    colour: RGB
    clip: bool = False


@dataclass(frozen=True, slots=True)
class _Species:
    length_px: tuple[float, float]  # nose-to-tail length range, pixels
    herd: tuple[int, int]  # herd size range, inclusive
    weight: float  # how often a herd is of this species
    shadow: float  # shadow offset as a fraction of body length (tall animals cast long ones)


_SPECIES_INFO: Final[dict[str, _Species]] = {
    "Elephant": _Species(length_px=(60.0, 84.0), herd=(1, 6), weight=0.22, shadow=0.22),
    "Giraffe": _Species(length_px=(50.0, 72.0), herd=(1, 5), weight=0.25, shadow=0.55),
    "Zebra": _Species(length_px=(36.0, 50.0), herd=(2, 9), weight=0.3, shadow=0.18),
    "Buffalo": _Species(length_px=(34.0, 50.0), herd=(3, 12), weight=0.23, shadow=0.16),
}


def _ellipse(cx: float, cy: float, a: float, b: float, n: int = 28) -> Points:
    t = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    return np.column_stack((cx + a * np.cos(t), cy + b * np.sin(t)))


def _shade(colour: Sequence[float], factor: float) -> RGB:
    r, g, b = (int(np.clip(round(c * factor), 0, 255)) for c in colour)
    return (r, g, b)


def _elephant(rng: np.random.Generator) -> tuple[list[_Part], RGB]:
    dust = rng.uniform(0.0, 1.0)  # red dust bath tints the grey skin
    skin = _shade((112 + 22 * dust, 109 + 3 * dust, 104 - 10 * dust), rng.uniform(0.88, 1.1))
    dark, light = _shade(skin, 0.78), _shade(skin, 1.16)
    parts = [
        _Part(_ellipse(-0.45, 0.0, 0.07, 0.012), dark),  # tail
        _Part(_ellipse(0.24, -0.15, 0.08, 0.12), dark),  # ears
        _Part(_ellipse(0.24, 0.15, 0.08, 0.12), dark),
        _Part(_ellipse(-0.05, 0.0, 0.36, 0.25), skin),  # body
        _Part(_ellipse(0.33, 0.0, 0.1, 0.11), skin),  # head
        _Part(_ellipse(0.47, 0.0, 0.08, 0.028), dark),  # trunk
        _Part(_ellipse(-0.08, -0.02, 0.27, 0.08), light, clip=True),  # sunlit back
    ]
    return parts, skin


def _giraffe(rng: np.random.Generator) -> tuple[list[_Part], RGB]:
    coat = _shade((206, 162, 98), rng.uniform(0.9, 1.08))
    patch = _shade(coat, rng.uniform(0.52, 0.62))
    neck = np.array([[-0.06, -0.045], [0.37, -0.022], [0.37, 0.022], [-0.06, 0.045]])
    parts = [
        _Part(_ellipse(-0.42, 0.0, 0.05, 0.01), patch),  # tail
        _Part(_ellipse(-0.2, 0.0, 0.19, 0.1), coat),  # body
        _Part(neck, coat),
        _Part(_ellipse(0.42, 0.0, 0.065, 0.033), coat),  # head
    ]
    n_body, n_neck = 9, 5
    xs = np.concatenate((rng.uniform(-0.36, -0.04, n_body), rng.uniform(0.0, 0.34, n_neck)))
    ys = np.concatenate((rng.uniform(-0.08, 0.08, n_body), rng.uniform(-0.025, 0.025, n_neck)))
    rs = rng.uniform(0.018, 0.032, n_body + n_neck)
    parts += [
        _Part(_ellipse(x, y, r, r * 0.85, n=12), patch, clip=True)
        for x, y, r in zip(xs, ys, rs, strict=True)
    ]
    return parts, coat


def _zebra(rng: np.random.Generator) -> tuple[list[_Part], RGB]:
    coat = _shade((228, 226, 218), rng.uniform(0.93, 1.03))
    stripe = _shade((38, 34, 32), rng.uniform(0.9, 1.2))
    parts = [
        _Part(_ellipse(-0.42, 0.0, 0.05, 0.012), stripe),  # tail
        _Part(_ellipse(-0.08, 0.0, 0.3, 0.14), coat),  # body
        _Part(_ellipse(0.26, 0.0, 0.17, 0.055), coat),  # neck and head
        _Part(_ellipse(0.42, 0.0, 0.04, 0.032), stripe),  # muzzle
    ]
    half, bend = 0.018, 0.025
    for x in np.arange(-0.36, 0.36, 0.075) + rng.uniform(0.0, 0.02):
        chevron = np.array(
            [
                [x - half, -0.2],
                [x + half, -0.2],
                [x + half + bend, 0.0],
                [x + half, 0.2],
                [x - half, 0.2],
                [x - half + bend, 0.0],
            ]
        )
        parts.append(_Part(chevron, stripe, clip=True))
    parts.append(_Part(_ellipse(0.24, 0.0, 0.13, 0.012), stripe, clip=True))  # mane
    return parts, coat


def _buffalo(rng: np.random.Generator) -> tuple[list[_Part], RGB]:
    hide = _shade((62, 48, 40), rng.uniform(0.85, 1.15))
    ys = np.linspace(-0.18, 0.18, 15)
    outer = 0.35 - 1.6 * ys**2
    inner = outer - (0.05 * (1.0 - (ys / 0.18) ** 2) + 0.012)
    horns = np.concatenate((np.column_stack((outer, ys)), np.column_stack((inner, ys))[::-1]))
    parts = [
        _Part(_ellipse(-0.42, 0.0, 0.06, 0.012), _shade(hide, 0.7)),  # tail
        _Part(_ellipse(-0.05, 0.0, 0.33, 0.2), hide),  # body
        _Part(_ellipse(0.31, 0.0, 0.1, 0.095), _shade(hide, 0.8)),  # head
        _Part(horns, _shade((118, 110, 100), rng.uniform(0.9, 1.1))),
        _Part(_ellipse(-0.08, -0.02, 0.24, 0.07), _shade(hide, 1.3), clip=True),  # sheen
    ]
    return parts, hide


_DRAWERS: Final = {"Elephant": _elephant, "Giraffe": _giraffe, "Zebra": _zebra, "Buffalo": _buffalo}
_SUPERSAMPLE: Final = 3  # draw sprites 3x larger, then box-filter down: anti-aliased edges


@dataclass(frozen=True, slots=True)
class _Sprite:
    """An animal drawn in its own square patch; box is the body's (x0, y0, x1, y1) in it."""

    rgb: Image.Image
    alpha: Image.Image
    box: tuple[int, int, int, int]

    @property
    def size(self) -> int:
        return self.rgb.width


def _render_sprite(parts: list[_Part], base: RGB, length: float, heading: float) -> _Sprite:
    """Rotate the body-unit polygons by `heading` (radians), scale to `length` pixels, fill."""
    half = math.ceil(0.62 * length) + 2
    big = 2 * half * _SUPERSAMPLE
    cos, sin = math.cos(heading), math.sin(heading)
    rotation = np.array([[cos, -sin], [sin, cos]])
    scale = length * _SUPERSAMPLE
    rgb = Image.new("RGB", (big, big), base)  # background = body colour: no dark fringe
    alpha = Image.new("L", (big, big), 0)
    draw_rgb, draw_alpha = ImageDraw.Draw(rgb), ImageDraw.Draw(alpha)
    for part in parts:
        flat = (part.points @ rotation.T * scale + big / 2).ravel().tolist()
        draw_rgb.polygon(flat, fill=part.colour)
        if not part.clip:
            draw_alpha.polygon(flat, fill=255)
    rgb = rgb.reduce(_SUPERSAMPLE)
    # Pixels the body covers less than half of stay ground, so the box (every pixel at least
    # half covered) holds every changed pixel; edges keep their anti-aliased blend inside.
    coverage = np.asarray(alpha.reduce(_SUPERSAMPLE))
    coverage = np.where(coverage >= 128, coverage, 0).astype(np.uint8)
    alpha = Image.fromarray(coverage)
    body = coverage > 0
    rows, cols = np.flatnonzero(body.any(axis=1)), np.flatnonzero(body.any(axis=0))
    box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
    return _Sprite(rgb=rgb, alpha=alpha, box=box)


@dataclass(frozen=True, slots=True)
class _Placed:
    label: str
    sprite: _Sprite
    left: int  # patch top-left in the image, pixels
    top: int
    shadow: float  # shadow offset, fraction of body length

    def animal(self) -> Animal:
        x0, y0, x1, y1 = self.sprite.box
        return Animal(self.label, self.left + x0, self.top + y0, x1 - x0, y1 - y0)


def _place_animals(rng: np.random.Generator, width: int, height: int, count: int) -> list[_Placed]:
    """Place up to `count` animals in herds of one species that face roughly one way.

    Every patch lies inside the image and bodies keep a 2-pixel gap, so no true box overlaps
    another; an animal that finds no free spot after a few tries is left out.
    """
    placed: list[_Placed] = []
    taken: list[tuple[int, int, int, int]] = []
    weights = np.array([_SPECIES_INFO[s].weight for s in SPECIES])
    margin_x, margin_y = min(150, width // 4), min(150, height // 4)
    remaining = count
    for _ in range(4):  # at most four herds
        if remaining <= 0:
            break
        label = SPECIES[rng.choice(len(SPECIES), p=weights / weights.sum())]
        info = _SPECIES_INFO[label]
        herd_size = min(remaining, int(rng.integers(info.herd[0], info.herd[1] + 1)))
        remaining -= herd_size
        centre = rng.uniform((margin_x, margin_y), (width - margin_x, height - margin_y))
        spread = (25.0 + 18.0 * math.sqrt(herd_size)) * rng.uniform(0.8, 1.6)
        heading = rng.uniform(0.0, 2.0 * math.pi)
        for _ in range(herd_size):
            parts, base = _DRAWERS[label](rng)
            length = rng.uniform(*info.length_px)
            sprite = _render_sprite(parts, base, length, heading + rng.normal(0.0, 0.6))
            x0, y0, x1, y1 = sprite.box
            for _attempt in range(25):
                cx, cy = centre + rng.normal(0.0, spread, 2)
                left, top = round(cx - sprite.size / 2), round(cy - sprite.size / 2)
                if not (0 <= left <= width - sprite.size and 0 <= top <= height - sprite.size):
                    continue
                box = (left + x0 - 2, top + y0 - 2, left + x1 + 2, top + y1 + 2)
                if any(_overlaps(box, other) for other in taken):
                    continue
                taken.append(box)
                placed.append(_Placed(label, sprite, left, top, info.shadow))
                break
    return placed


def _overlaps(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    """Whether two (x0, y0, x1, y1) boxes share any area."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


# --- ground --------------------------------------------------------------------------------

_DRY_GRASS: Final = np.array([192, 172, 120], dtype=np.float32)
_GREEN_GRASS: Final = np.array([112, 126, 70], dtype=np.float32)
_BARE_SOIL: Final = np.array([172, 132, 96], dtype=np.float32)
_TRAIL: Final = np.array([204, 178, 140], dtype=np.float32)
_BUSH: Final = (56, 70, 38)
_GROUND_SCALE: Final = 4  # ground colours are mixed at 1/4 size


def _value_noise(rng: np.random.Generator, width: int, height: int, cell: float) -> FloatArray:
    """Smooth noise in about [0, 1]: random values every `cell` pixels, bicubic in between."""
    grid = rng.random((math.ceil(height / cell) + 3, math.ceil(width / cell) + 3), np.float32)
    box = (1.0, 1.0, 1.0 + width / cell, 1.0 + height / cell)
    smooth = Image.fromarray(grid).resize((width, height), Image.Resampling.BICUBIC, box=box)
    return np.asarray(smooth)


def _fbm(rng: np.random.Generator, width: int, height: int, cells: Sequence[float]) -> FloatArray:
    """Several octaves of value noise, each half as strong as the coarser one; about [0, 1]."""
    total = np.zeros((height, width), np.float32)
    amplitude, weight = 1.0, 0.0
    for cell in cells:
        total += amplitude * _value_noise(rng, width, height, cell)
        weight += amplitude
        amplitude *= 0.5
    total /= weight
    return total


def _smoothstep(lo: float, hi: float, x: FloatArray) -> FloatArray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _ground(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """Savanna seen from above as an RGB image: grass from dry to green, bare soil, trails.

    Nothing here is finer than a few pixels, so it is mixed at a quarter of the size and
    scaled up; camera grain is added later at full size.
    """
    w, h = math.ceil(width / _GROUND_SCALE), math.ceil(height / _GROUND_SCALE)
    greenness = rng.uniform(0.15, 0.6)  # season: how green this stretch is
    veg = np.clip((_fbm(rng, w, h, (90.0, 35.0, 12.5)) - 0.5) * 2.6 + greenness, 0.0, 1.0)
    soil = _smoothstep(0.56, 0.76, _fbm(rng, w, h, (65.0, 22.5, 7.5)))
    light = _fbm(rng, w, h, (125.0, 30.0))
    ground = _DRY_GRASS + (_GREEN_GRASS - _DRY_GRASS) * veg[..., None]
    ground += (_BARE_SOIL - ground) * soil[..., None]
    ground *= (0.9 + 0.2 * light)[..., None]

    trails = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(trails)
    for _ in range(int(rng.choice([0, 1, 1, 2]))):  # game trails, 4-9 pixels wide
        points = np.asarray(_trail(rng, width, height)) / _GROUND_SCALE
        thickness = max(1, round(int(rng.integers(4, 10)) / _GROUND_SCALE))
        draw.line(points.ravel().tolist(), fill=255, width=thickness, joint="curve")
    trail = np.asarray(trails.filter(ImageFilter.GaussianBlur(0.5)), np.float32) * (0.75 / 255)
    ground += (_TRAIL - ground) * trail[..., None]
    small = Image.fromarray(np.clip(ground, 0.0, 255.0).astype(np.uint8))
    return small.resize((width, height), Image.Resampling.BICUBIC)


def _trail(rng: np.random.Generator, width: int, height: int) -> list[tuple[float, float]]:
    """A wandering path that enters at one edge and walks until it leaves the image."""
    edge = int(rng.integers(4))
    along = rng.uniform(0.1, 0.9)
    x, y, heading = (
        (0.0, along * height, 0.0),
        (width, along * height, math.pi),
        (along * width, 0.0, math.pi / 2),
        (along * width, float(height), -math.pi / 2),
    )[edge]
    heading += rng.normal(0.0, 0.4)
    points = [(x, y)]
    for _ in range(400):
        heading += rng.normal(0.0, 0.15)
        x, y = x + 30.0 * math.cos(heading), y + 30.0 * math.sin(heading)
        points.append((x, y))
        if not (-60 <= x <= width + 60 and -60 <= y <= height + 60):
            break
    return points


def _blob(rng: np.random.Generator, cx: float, cy: float, radius: float) -> list[float]:
    """An irregular closed outline (flat x, y list) around a centre, e.g. a rock."""
    t = np.linspace(0.0, 2.0 * math.pi, 14, endpoint=False)
    r = radius * rng.uniform(0.7, 1.1, t.size)
    return np.column_stack((cx + r * np.cos(t), cy + r * np.sin(t))).ravel().tolist()


# --- one image -----------------------------------------------------------------------------


def _render_image(
    seed: int, index: int, width: int, height: int, empty: bool, draw_animals: bool = True
) -> tuple[npt.NDArray[np.uint8], tuple[Animal, ...]]:
    """Draw image `index` of the survey: (H, W, 3) uint8 RGB and its true animals.

    Each image has its own random stream (seed, index), so an image does not depend on how
    many others are drawn. `draw_animals=False` leaves out only the animal bodies (shadows and
    all random draws stay the same), which lets tests see exactly which pixels are animal.
    """
    rng = np.random.default_rng([seed, index])
    sun = rng.uniform(0.0, 2.0 * math.pi)
    sun_x, sun_y = math.cos(sun), math.sin(sun)
    shadow_length = rng.uniform(0.6, 1.3)  # low sun: long shadows
    ground = _ground(rng, width, height)

    bushes = []
    for _ in range(int(rng.integers(4, 30))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        radius = 5.0 + 40.0 * rng.beta(1.2, 4.0)  # mostly shrubs, a few acacia crowns
        k = int(rng.integers(3, 7)) + int(radius / 5.0)
        offsets = rng.normal(0.0, radius * 0.35, (k, 2))
        radii = radius * rng.uniform(0.45, 0.8, k)
        tones = rng.uniform(0.75, 1.2, k)
        bushes.append((cx + offsets[:, 0], cy + offsets[:, 1], radii, tones, radius))
    rocks = []
    for _ in range(int(rng.integers(0, 5))):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        is_mound = rng.random() < 0.5
        radius = rng.uniform(4, 10) if is_mound else rng.uniform(5, 16)
        colour = (176, 122, 82) if is_mound else (138, 134, 126)
        rocks.append((_blob(rng, cx, cy, radius), _shade(colour, rng.uniform(0.85, 1.1)), radius))
    animals = [] if empty else _place_animals(rng, width, height, int(rng.integers(1, 13)))

    shadow = Image.new("L", (width, height), 0)
    draw = ImageDraw.Draw(shadow)
    for xs, ys, radii, _tones, radius in bushes:
        dx, dy = sun_x * radius * shadow_length, sun_y * radius * shadow_length
        for x, y, r in zip(xs, ys, radii, strict=True):
            draw.ellipse((x + dx - r, y + dy - r, x + dx + r, y + dy + r), fill=255)
    for outline, _colour, radius in rocks:
        offset = np.tile((sun_x * radius * 0.6, sun_y * radius * 0.6), len(outline) // 2)
        draw.polygon((np.asarray(outline) + offset).tolist(), fill=255)
    for a in animals:
        reach = a.shadow * shadow_length * a.sprite.size / 1.3
        size = a.sprite.size
        # Stamps of the silhouette at most 3 pixels apart smear it into a cast shadow.
        for k in np.linspace(0.2, 1.0, max(2, math.ceil(reach / 3.0))):
            left = round(a.left + sun_x * reach * k)
            top = round(a.top + sun_y * reach * k)
            shadow.paste(255, (left, top, left + size, top + size), mask=a.sprite.alpha)
    darkness = rng.uniform(0.35, 0.5)
    shaded = ground.point(lambda v: round(v * (1.0 - darkness)))
    image = Image.composite(shaded, ground, shadow.filter(ImageFilter.BoxBlur(1.5)))
    draw = ImageDraw.Draw(image)
    for xs, ys, radii, tones, _radius in bushes:
        for x, y, r, tone in zip(xs, ys, radii, tones, strict=True):
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_shade(_BUSH, tone))
    for outline, colour, _radius in rocks:
        draw.polygon(outline, fill=colour)
    if draw_animals:
        for a in animals:
            image.paste(a.sprite.rgb, (a.left, a.top), mask=a.sprite.alpha)

    # Camera: fine sensor grain, grass tufts a few pixels wide, darker corners.
    grain = rng.standard_normal((height, width), np.float32) * 6.0
    grain += (_value_noise(rng, width, height, 3.0) - 0.5) * 36.0
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)[:, None]
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32)[None, :]
    vignette = 1.0 - 0.06 * (xs * xs + ys * ys)
    pixels = np.asarray(image, np.float32) * vignette[..., None] + grain[..., None]
    out = np.clip(pixels, 0, 255).astype(np.uint8)
    return out, tuple(a.animal() for a in animals)


def _empty_images(seed: int, n_images: int) -> frozenset[int]:
    """Which images show no animals: about one in ten, at least one once there are three."""
    count = round(0.1 * n_images) or (1 if n_images >= 3 else 0)
    rng = np.random.default_rng([seed, 0x5EED])
    return frozenset(int(i) for i in rng.choice(n_images, size=count, replace=False))


def generate_survey(
    out_dir: Path, n_images: int = 60, width: int = 1600, height: int = 1200, seed: int = 7
) -> Survey:
    """Draw `n_images` JPEG survey images into `out_dir` and return their true animals.

    Images are `width` x `height` pixels, 0-12 animals each (a few have none), named
    survey_0001.jpg and so on. The same seed gives the same pixels and boxes. Images are
    drawn on a few threads (numpy and Pillow release the GIL); each has its own random
    stream, so the result does not depend on scheduling.
    """
    if n_images < 0:
        raise ValueError(f"n_images must be >= 0, got {n_images}")
    if width < 200 or height < 200:
        raise ValueError(f"images must be at least 200 x 200 pixels, got {width} x {height}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    empty = _empty_images(seed, n_images)

    def draw(index: int) -> SyntheticImage:
        pixels, animals = _render_image(seed, index, width, height, index in empty)
        file_name = f"survey_{index + 1:04d}.jpg"
        Image.fromarray(pixels).save(out_dir / file_name, "JPEG", quality=JPEG_QUALITY)
        return SyntheticImage(file_name, width, height, animals)

    workers = max(1, min(4, os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        images = tuple(pool.map(draw, range(n_images)))
    return Survey(images=images, labels=SPECIES)


# --- simulated annotators and model --------------------------------------------------------


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
        if not any(_overlaps((x, y, x + w, y + h), a) for a in animals):
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


# --- Label Studio --------------------------------------------------------------------------


def _region_id(index: int, label: str, value: tuple[float, ...], taken: set[str]) -> str:
    """A 10-character id, stable for the same region at the same place in the result."""
    salt = 0
    while True:
        text = f"{index}:{salt}:{label}:{value}".encode()
        region_id = hashlib.blake2b(text, digest_size=5).hexdigest()
        if region_id not in taken:
            taken.add(region_id)
            return region_id
        salt += 1


def to_label_studio_result(
    boxes: Iterable[Animal | Box | ScoredBox],
    width: int,
    height: int,
    from_name: str = "label",
    to_name: str = "image",
) -> list[dict[str, Any]]:
    """Label Studio `rectanglelabels` regions for pixel boxes on a `width` x `height` image.

    Boxes are (x, y, w, h) in pixels, origin top-left; regions hold x, y, width, height in
    percent (0-100) of the image size, rotation 0. Boxes are clipped to the image; a box
    left with no area (wholly outside) is dropped. ScoredBox adds the region's "score".
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width} x {height}")
    regions: list[dict[str, Any]] = []
    taken: set[str] = set()
    for index, box in enumerate(boxes):
        x0, x1 = min(max(float(box.x), 0.0), width), min(max(float(box.x + box.w), 0.0), width)
        y0, y1 = min(max(float(box.y), 0.0), height), min(max(float(box.y + box.h), 0.0), height)
        if x1 <= x0 or y1 <= y0:
            continue
        x, y = 100.0 * x0 / width, 100.0 * y0 / height
        w, h = 100.0 * (x1 - x0) / width, 100.0 * (y1 - y0) / height
        region: dict[str, Any] = {
            "id": _region_id(index, box.label, (x, y, w, h), taken),
            "type": "rectanglelabels",
            "from_name": from_name,
            "to_name": to_name,
            "original_width": width,
            "original_height": height,
            "image_rotation": 0,
            "value": {
                "x": x,
                "y": y,
                "width": w,
                "height": h,
                "rotation": 0,
                "rectanglelabels": [box.label],
            },
        }
        if isinstance(box, ScoredBox):
            region["score"] = box.score
        regions.append(region)
    return regions
