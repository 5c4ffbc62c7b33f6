"""The four species seen from above, drawn as anti-aliased sprites, and herds of them placed
on an image without overlapping."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
from PIL import Image, ImageDraw

from assay.demo.synth.paint import RGB, Points, shade
from assay.demo.synth.records import SPECIES, Animal, overlaps


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


def _elephant(rng: np.random.Generator) -> tuple[list[_Part], RGB]:
    dust = rng.uniform(0.0, 1.0)  # red dust bath tints the grey skin
    skin = shade((112 + 22 * dust, 109 + 3 * dust, 104 - 10 * dust), rng.uniform(0.88, 1.1))
    dark, light = shade(skin, 0.78), shade(skin, 1.16)
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
    coat = shade((206, 162, 98), rng.uniform(0.9, 1.08))
    patch = shade(coat, rng.uniform(0.52, 0.62))
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
    coat = shade((228, 226, 218), rng.uniform(0.93, 1.03))
    stripe = shade((38, 34, 32), rng.uniform(0.9, 1.2))
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
    hide = shade((62, 48, 40), rng.uniform(0.85, 1.15))
    ys = np.linspace(-0.18, 0.18, 15)
    outer = 0.35 - 1.6 * ys**2
    inner = outer - (0.05 * (1.0 - (ys / 0.18) ** 2) + 0.012)
    horns = np.concatenate((np.column_stack((outer, ys)), np.column_stack((inner, ys))[::-1]))
    parts = [
        _Part(_ellipse(-0.42, 0.0, 0.06, 0.012), shade(hide, 0.7)),  # tail
        _Part(_ellipse(-0.05, 0.0, 0.33, 0.2), hide),  # body
        _Part(_ellipse(0.31, 0.0, 0.1, 0.095), shade(hide, 0.8)),  # head
        _Part(horns, shade((118, 110, 100), rng.uniform(0.9, 1.1))),
        _Part(_ellipse(-0.08, -0.02, 0.24, 0.07), shade(hide, 1.3), clip=True),  # sheen
    ]
    return parts, hide


_DRAWERS: Final = {"Elephant": _elephant, "Giraffe": _giraffe, "Zebra": _zebra, "Buffalo": _buffalo}
_SUPERSAMPLE: Final = 3  # draw sprites 3x larger, then box-filter down: anti-aliased edges


@dataclass(frozen=True, slots=True)
class Sprite:
    """An animal drawn in its own square patch; box is the body's (x0, y0, x1, y1) in it."""

    rgb: Image.Image
    alpha: Image.Image
    box: tuple[int, int, int, int]

    @property
    def size(self) -> int:
        return self.rgb.width


def _render_sprite(parts: list[_Part], base: RGB, length: float, heading: float) -> Sprite:
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
    return Sprite(rgb=rgb, alpha=alpha, box=box)


@dataclass(frozen=True, slots=True)
class Placed:
    """An animal's sprite at its place in the image, with its shadow offset."""

    label: str
    sprite: Sprite
    left: int  # patch top-left in the image, pixels
    top: int
    shadow: float  # shadow offset, fraction of body length

    def animal(self) -> Animal:
        x0, y0, x1, y1 = self.sprite.box
        return Animal(self.label, self.left + x0, self.top + y0, x1 - x0, y1 - y0)


def place_animals(rng: np.random.Generator, width: int, height: int, count: int) -> list[Placed]:
    """Place up to `count` animals in herds of one species that face roughly one way.

    Every patch lies inside the image and bodies keep a 2-pixel gap, so no true box overlaps
    another; an animal that finds no free spot after a few tries is left out.
    """
    placed: list[Placed] = []
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
                if any(overlaps(box, other) for other in taken):
                    continue
                taken.append(box)
                placed.append(Placed(label, sprite, left, top, info.shadow))
                break
    return placed
