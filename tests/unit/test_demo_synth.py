"""The demo survey: the images a lab lead opens, their true boxes, and the simulated workers."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from assay.demo.synth import (
    AVERAGE,
    LABEL_CONFIG,
    MODEL_VERSION,
    NOVICE,
    SKILLED,
    SPECIES,
    Animal,
    AnnotatorSkill,
    Box,
    ScoredBox,
    Survey,
    SyntheticImage,
    generate_survey,
    simulate_annotator,
    simulate_model,
    to_label_studio_result,
)
from assay.demo.synth.images import _render_image

WIDTH, HEIGHT = 480, 360


@pytest.fixture(scope="module")
def small_survey(tmp_path_factory: pytest.TempPathFactory) -> tuple[Survey, Path]:
    out_dir = tmp_path_factory.mktemp("survey")
    return generate_survey(out_dir, n_images=10, width=WIDTH, height=HEIGHT, seed=3), out_dir


def _grid_survey(n_images: int = 300, seed: int = 0) -> Survey:
    """Many 1600 x 1200 images, six well separated animals each: enough for rate statistics."""
    rng = np.random.default_rng(seed)
    images = []
    for i in range(n_images):
        animals = tuple(
            Animal(
                label=SPECIES[int(rng.integers(len(SPECIES)))],
                x=100 + 450 * (k % 3) + int(rng.integers(0, 100)),
                y=150 + 500 * (k // 3) + int(rng.integers(0, 100)),
                w=int(rng.integers(20, 90)),
                h=int(rng.integers(20, 90)),
            )
            for k in range(6)
        )
        images.append(SyntheticImage(f"img_{i:04d}.jpg", 1600, 1200, animals))
    return Survey(images=tuple(images))


def _iou(a: Animal | Box | ScoredBox, b: Animal | Box | ScoredBox) -> float:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    return inter / (a.w * a.h + b.w * b.h - inter)


def _tally(
    survey: Survey, drawn: dict[str, list[Box]] | dict[str, list[ScoredBox]]
) -> dict[str, Any]:
    """Greedy one-to-one matching at IoU >= 0.3: misses, wrong labels, IoUs, unmatched boxes."""
    misses = confused = 0
    ious: list[float] = []
    unmatched: list[Box | ScoredBox] = []
    for image in survey.images:
        boxes = list(drawn[image.file_name])
        for animal in image.animals:
            scored = [(_iou(animal, b), j) for j, b in enumerate(boxes)]
            best = max(scored, default=(0.0, -1))
            if best[0] < 0.3:
                misses += 1
                continue
            box = boxes.pop(best[1])
            ious.append(best[0])
            confused += box.label != animal.label
        unmatched += boxes
    n = sum(len(i.animals) for i in survey.images)
    return {
        "miss_rate": misses / n,
        "confusion_rate": confused / max(1, n - misses),
        "mean_iou": float(np.mean(ious)),
        "unmatched": unmatched,
    }


# --- images ----------------------------------------------------------------------------------


def test_every_image_is_a_jpeg_of_the_requested_size(small_survey: tuple[Survey, Path]) -> None:
    survey, out_dir = small_survey
    assert len(survey.images) == 10
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(i.file_name for i in survey.images)
    for image in survey.images:
        assert (image.width, image.height) == (WIDTH, HEIGHT)
        with Image.open(out_dir / image.file_name) as jpeg:
            assert jpeg.format == "JPEG"
            assert jpeg.mode == "RGB"
            assert jpeg.size == (WIDTH, HEIGHT)


def test_same_seed_gives_the_same_survey_byte_for_byte(
    small_survey: tuple[Survey, Path], tmp_path: Path
) -> None:
    survey, out_dir = small_survey
    again = generate_survey(tmp_path / "again", n_images=10, width=WIDTH, height=HEIGHT, seed=3)
    assert again == survey
    for image in survey.images:
        first = (out_dir / image.file_name).read_bytes()
        assert (tmp_path / "again" / image.file_name).read_bytes() == first

    other = generate_survey(tmp_path / "other", n_images=10, width=WIDTH, height=HEIGHT, seed=4)
    assert other.images != survey.images


def test_survey_has_four_species_up_to_twelve_animals_and_some_empty_images(
    small_survey: tuple[Survey, Path],
) -> None:
    survey, _ = small_survey
    assert survey.labels == ("Elephant", "Giraffe", "Zebra", "Buffalo")
    counts = [len(image.animals) for image in survey.images]
    assert all(0 <= c <= 12 for c in counts)
    assert 0 in counts
    assert sum(counts) > 10
    assert {a.label for i in survey.images for a in i.animals} <= set(SPECIES)


def test_true_boxes_lie_inside_the_image_and_do_not_overlap(
    small_survey: tuple[Survey, Path],
) -> None:
    survey, _ = small_survey
    for image in survey.images:
        for a in image.animals:
            assert a.x >= 0 and a.x + a.w <= image.width
            assert a.y >= 0 and a.y + a.h <= image.height
            assert 10 <= max(a.w, a.h) <= 90  # small animals seen from the air
        pairs = [(a, b) for i, a in enumerate(image.animals) for b in image.animals[i + 1 :]]
        assert all(_iou(a, b) == 0.0 for a, b in pairs)


@pytest.mark.parametrize("index", [0, 1, 2, 5])
def test_true_box_is_exactly_the_extent_of_the_drawn_animal(index: int) -> None:
    """Render the image with and without animal bodies: changed pixels fill each box edge to
    edge, and nothing changes outside the boxes."""
    with_animals, animals = _render_image(3, index, WIDTH, HEIGHT, empty=False)
    ground_only, same = _render_image(3, index, WIDTH, HEIGHT, empty=False, draw_animals=False)
    assert same == animals and animals
    changed = (with_animals != ground_only).any(axis=2)
    inside = np.zeros_like(changed)
    for a in animals:
        patch = changed[a.y : a.y + a.h, a.x : a.x + a.w]
        assert patch[0].any() and patch[-1].any() and patch[:, 0].any() and patch[:, -1].any()
        assert patch.mean() > 0.2, a  # a body, not a few stray pixels
        inside[a.y : a.y + a.h, a.x : a.x + a.w] = True
    assert not changed[~inside].any()


def test_animals_keep_their_species_colours(small_survey: tuple[Survey, Path]) -> None:
    """Elephants are grey, buffalo dark, zebras show black and white, giraffes are tan."""
    survey, out_dir = small_survey
    seen: dict[str, list[np.ndarray]] = {}
    for image in survey.images:
        pixels = np.asarray(Image.open(out_dir / image.file_name), dtype=np.float64)
        for a in image.animals:
            seen.setdefault(a.label, []).append(pixels[a.y : a.y + a.h, a.x : a.x + a.w])
    brightness = {label: np.mean([p.mean() for p in boxes]) for label, boxes in seen.items()}
    assert set(seen) == set(SPECIES)
    assert brightness["Buffalo"] < min(brightness["Elephant"], brightness["Giraffe"])
    for label, boxes in seen.items():
        grey = np.concatenate([p.mean(axis=2).ravel() for p in boxes])
        white, black = (grey > 200).mean(), (grey < 80).mean()
        if label == "Zebra":
            assert white > 0.03 and black > 0.1
        else:
            assert white < 0.01, label
    giraffe = np.concatenate([p.reshape(-1, 3) for p in seen["Giraffe"]]).mean(axis=0)
    elephant = np.concatenate([p.reshape(-1, 3) for p in seen["Elephant"]]).mean(axis=0)
    assert giraffe[0] - giraffe[2] > elephant[0] - elephant[2]  # warmer than grey


def test_generate_survey_rejects_impossible_sizes(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 200"):
        generate_survey(tmp_path, n_images=1, width=100, height=100)
    with pytest.raises(ValueError, match="n_images"):
        generate_survey(tmp_path, n_images=-1)


# --- simulated annotators ----------------------------------------------------------------------


def test_novice_misses_confuses_and_loosens_more_than_skilled() -> None:
    survey = _grid_survey()
    skilled = _tally(survey, simulate_annotator(survey, SKILLED, seed=1))
    average = _tally(survey, simulate_annotator(survey, AVERAGE, seed=2))
    novice = _tally(survey, simulate_annotator(survey, NOVICE, seed=3))

    assert skilled["miss_rate"] < 0.06
    assert 0.18 < novice["miss_rate"] < 0.35
    assert skilled["miss_rate"] < average["miss_rate"] < novice["miss_rate"]
    assert skilled["confusion_rate"] < average["confusion_rate"] < novice["confusion_rate"]
    assert novice["confusion_rate"] > 0.12
    assert skilled["mean_iou"] > average["mean_iou"] > novice["mean_iou"]
    assert skilled["mean_iou"] > 0.8
    assert len(skilled["unmatched"]) < len(novice["unmatched"])


def test_annotator_boxes_stay_in_the_image_and_extra_boxes_are_on_empty_ground() -> None:
    survey = _grid_survey(n_images=100)
    drawn = simulate_annotator(survey, NOVICE, seed=5)
    assert set(drawn) == {i.file_name for i in survey.images}
    extras = 0
    for image in survey.images:
        for box in drawn[image.file_name]:
            assert box.x >= 0 and box.x + box.w <= image.width + 1e-6
            assert box.y >= 0 and box.y + box.h <= image.height + 1e-6
            assert box.w > 0 and box.h > 0 and box.label in SPECIES
            if all(_iou(box, a) == 0.0 for a in image.animals):
                extras += 1
    assert extras > 30  # about 0.8 per image for a novice


def test_annotator_is_deterministic_per_seed() -> None:
    survey = _grid_survey(n_images=20)
    assert simulate_annotator(survey, AVERAGE, 9) == simulate_annotator(survey, AVERAGE, 9)
    assert simulate_annotator(survey, AVERAGE, 9) != simulate_annotator(survey, AVERAGE, 10)


def test_annotator_skill_rejects_rates_outside_their_range() -> None:
    with pytest.raises(ValueError, match="miss_rate"):
        AnnotatorSkill(miss_rate=1.5, confusion_rate=0.0, jitter=0.0, false_positive_rate=0.0)
    with pytest.raises(ValueError, match="jitter"):
        AnnotatorSkill(miss_rate=0.1, confusion_rate=0.0, jitter=-1.0, false_positive_rate=0.0)


# --- simulated model ---------------------------------------------------------------------------


def test_model_scores_true_animals_high_and_false_detections_low() -> None:
    survey = _grid_survey()
    detections = simulate_model(survey, seed=11)
    assert MODEL_VERSION == "survey-detector-v1"
    for dets in detections.values():
        scores = [d.score for d in dets]
        assert all(0.0 <= s <= 1.0 for s in scores)
        assert scores == sorted(scores, reverse=True)

    tally = _tally(survey, detections)
    assert 0.03 < tally["miss_rate"] < 0.2
    matched_scores = [
        d.score
        for image in survey.images
        for d in detections[image.file_name]
        if any(_iou(d, a) >= 0.5 and d.label == a.label for a in image.animals)
    ]
    false_scores = [
        d.score
        for image in survey.images
        for d in detections[image.file_name]
        if all(_iou(d, a) == 0.0 for a in image.animals)
    ]
    assert np.mean(matched_scores) > 0.7
    assert np.mean(false_scores) < 0.35
    assert len(false_scores) > 100


def test_model_sometimes_detects_one_animal_twice() -> None:
    survey = _grid_survey()
    detections = simulate_model(survey, seed=11)
    duplicated = sum(
        sum(_iou(d, a) >= 0.3 for d in detections[image.file_name]) >= 2
        for image in survey.images
        for a in image.animals
    )
    n = sum(len(i.animals) for i in survey.images)
    assert 0.01 * n < duplicated < 0.15 * n


# --- Label Studio ------------------------------------------------------------------------------


def test_label_studio_regions_round_trip_to_pixels() -> None:
    boxes = [Box("Zebra", 10.5, 20.25, 30.0, 12.75), Animal("Elephant", 0, 0, 1600, 1200)]
    regions = to_label_studio_result(boxes, 1600, 1200)
    assert len(regions) == 2
    for box, region in zip(boxes, regions, strict=True):
        value = region["value"]
        assert value["x"] * 1600 / 100 == pytest.approx(box.x)
        assert value["y"] * 1200 / 100 == pytest.approx(box.y)
        assert value["width"] * 1600 / 100 == pytest.approx(box.w)
        assert value["height"] * 1200 / 100 == pytest.approx(box.h)
        assert value["rectanglelabels"] == [box.label]
    assert regions[1]["value"]["width"] == pytest.approx(100.0)


def test_label_studio_regions_have_every_field_and_stay_within_the_image() -> None:
    survey = _grid_survey(n_images=30)
    predictions = simulate_model(survey, seed=2)
    drawn = simulate_annotator(survey, NOVICE, seed=2)
    for image in survey.images:
        for boxes in (drawn[image.file_name], predictions[image.file_name], image.animals):
            regions = to_label_studio_result(boxes, image.width, image.height)
            assert len({r["id"] for r in regions}) == len(regions)
            for r in regions:
                assert isinstance(r["id"], str) and 0 < len(r["id"]) <= 16
                assert r["type"] == "rectanglelabels"
                assert (r["from_name"], r["to_name"]) == ("label", "image")
                assert (r["original_width"], r["original_height"]) == (1600, 1200)
                assert r["image_rotation"] == 0
                v = r["value"]
                assert v["rotation"] == 0 and v["rectanglelabels"][0] in SPECIES
                assert 0 <= v["x"] <= 100 and 0 <= v["y"] <= 100
                assert 0 < v["width"] <= 100 and 0 < v["height"] <= 100
                assert v["x"] + v["width"] <= 100 + 1e-9
                assert v["y"] + v["height"] <= 100 + 1e-9
                assert ("score" in r) == (boxes is predictions[image.file_name])


def test_label_studio_clips_boxes_to_the_image_and_drops_boxes_outside_it() -> None:
    boxes = [
        ScoredBox("Buffalo", -10.0, 90.0, 40.0, 30.0, score=0.9),
        Box("Giraffe", 250.0, 250.0, 20.0, 20.0),
    ]
    regions = to_label_studio_result(boxes, 200, 100, from_name="animal", to_name="photo")
    assert len(regions) == 1
    (region,) = regions
    assert region["score"] == 0.9
    assert (region["from_name"], region["to_name"]) == ("animal", "photo")
    assert region["value"]["x"] == 0.0
    assert region["value"]["width"] == pytest.approx(15.0)  # 30 of 200 pixels left
    assert region["value"]["y"] == pytest.approx(90.0)
    assert region["value"]["height"] == pytest.approx(10.0)  # 10 of 100 pixels left


def test_label_config_offers_the_four_species_as_boxes() -> None:
    view = ET.fromstring(LABEL_CONFIG)
    image = view.find("Image")
    assert image is not None
    assert image.get("name") == "image" and image.get("value") == "$image"
    control = view.find("RectangleLabels")
    assert control is not None
    assert control.get("name") == "label" and control.get("toName") == "image"
    labels = control.findall("Label")
    assert tuple(label.get("value") for label in labels) == SPECIES
    backgrounds = [label.get("background") for label in labels]
    assert all(backgrounds) and len(set(backgrounds)) == len(SPECIES)
