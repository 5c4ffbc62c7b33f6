"""Savanna ground seen from above: smooth value noise, grass from dry to green, bare soil and
game trails."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Final

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from assay.demo.synth.paint import FloatArray

_DRY_GRASS: Final = np.array([192, 172, 120], dtype=np.float32)
_GREEN_GRASS: Final = np.array([112, 126, 70], dtype=np.float32)
_BARE_SOIL: Final = np.array([172, 132, 96], dtype=np.float32)
_TRAIL: Final = np.array([204, 178, 140], dtype=np.float32)
_GROUND_SCALE: Final = 4  # ground colours are mixed at 1/4 size


def value_noise(rng: np.random.Generator, width: int, height: int, cell: float) -> FloatArray:
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
        total += amplitude * value_noise(rng, width, height, cell)
        weight += amplitude
        amplitude *= 0.5
    total /= weight
    return total


def _smoothstep(lo: float, hi: float, x: FloatArray) -> FloatArray:
    t = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def draw_ground(rng: np.random.Generator, width: int, height: int) -> Image.Image:
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
