"""A synthetic aerial wildlife survey: images, true animals, simulated annotators and a model.

The demo project needs data a lab lead recognizes without downloading anything: nadir drone
images of savanna with elephants, giraffes, zebras and buffalo, the true box of every animal,
annotations from people of different skill and a detector's scored predictions. Everything
here is pure (numpy and Pillow, no database, no network) and deterministic for a seed.

Conventions: boxes are (x, y, w, h) in pixels of the original image, origin at the top-left
corner, x to the right, y down. Label Studio regions (`to_label_studio_result`) are in percent
(0-100) of the image width and height.

Modules: `records` (species, animals, images, boxes), `animals` and `ground` (the painters),
`images` (one image from its seed, and the survey's files), `simulation` (annotators and the
detector), `label_studio` (label config and results); `paint` holds what the painters share.
The names below are the package's public ones.
"""

from __future__ import annotations

from assay.demo.synth.images import JPEG_QUALITY, generate_survey
from assay.demo.synth.label_studio import LABEL_CONFIG, to_label_studio_result
from assay.demo.synth.records import SPECIES, Animal, Box, ScoredBox, Survey, SyntheticImage
from assay.demo.synth.simulation import (
    AVERAGE,
    MODEL_VERSION,
    NOVICE,
    SKILLED,
    AnnotatorSkill,
    simulate_annotator,
    simulate_model,
)

__all__ = [
    "AVERAGE",
    "JPEG_QUALITY",
    "LABEL_CONFIG",
    "MODEL_VERSION",
    "NOVICE",
    "SKILLED",
    "SPECIES",
    "Animal",
    "AnnotatorSkill",
    "Box",
    "ScoredBox",
    "Survey",
    "SyntheticImage",
    "generate_survey",
    "simulate_annotator",
    "simulate_model",
    "to_label_studio_result",
]
