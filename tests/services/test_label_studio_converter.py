"""label-studio-sdk's converter (`label_studio_sdk.converter.Converter`, 2.1) turns assay's
Label Studio JSON export of the answer key into COCO, YOLO and Pascal VOC, as it does Label
Studio's own: every box, count and class name is compared with the seeded truth
(`builders.seeded_truth`), and each test prints what it measured (`-s`).

What the converter does differently, documented here rather than worked around (it is the
converter's behaviour with any Label Studio JSON whose images it does not download):
- file names: it names each image after its URL's last path segment as it stands, still
  percent-encoded, behind an 8-hex-digit hash of the URL (`bb7cb235__herd%20%230.png`);
  assay's media URLs are percent-encoded (#15 item 6), so the names are decoded here;
- COCO: images it cannot open take their size from their first box, so an image without
  objects gets `width` and `height` null; category ids are 0-based, in sorted label order;
- VOC: no file for an image without objects, and boxes truncated to whole pixels, 0-based:
  `xmin = int(x)`, `xmax = int(x) + int(w)` (not the devkit's convention, nor rounding): a near
  edge moves by up to 1 px, a far edge by up to 2 (x = 199 and w = 16 that come back from
  percent as 198.99999999999997 and 15.999999999999998 give 198 and 213, not 199 and 215). Its files import into assay with
  `voc_convention=continuous`, which this test reads them with;
- boxes come from Label Studio's percent units (`x / 100 * width`), so a whole pixel may come
  back as 198.99999999999997: within 1e-6 px in COCO and YOLO, but truncated to 198 in VOC.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pytest
from label_studio_sdk.converter import Converter

from assay.formats.voc import read_voc_files
from assay.services.io import exporting
from builders import TRUTH_CLASSES, actor_of, box_errors, rect_config, seeded_truth, truth_project

TRUTH = seeded_truth(7, 24)  # as tests/services/test_supervision_formats.py
N_BOXES = sum(len(t.xyxy) for t in TRUTH.values())


def _name(converted: str) -> str:
    """The image file name behind one of the converter's names (hash prefix, percent-encoded)."""
    prefix, sep, rest = Path(converted).name.partition("__")
    assert sep and len(prefix) == 8, converted
    return unquote(rest)


def _by_stem(name: str) -> str:
    """The truth's image whose file stem the converter's label or annotation file names."""
    stem = Path(_name(name)).stem
    (found,) = [n for n in TRUTH if Path(n).stem == stem]
    return found


def _report(what: str, errors: list[np.ndarray], limit: float) -> None:
    worst = max((float(e.max()) for e in errors if e.size), default=0.0)
    boxes = sum(len(e) for e in errors)
    print(f"\n{what}: {len(errors)} images, {boxes} boxes, max error {worst:.3g} px")
    assert worst <= limit, (what, worst, limit)


@pytest.fixture
def converted(db, people, tmp_path):
    """Format -> the converter's output folder for assay's answer-key JSON export."""
    lead = actor_of(people["lead"])
    pid = truth_project(db, people["lead"], TRUTH, tmp_path / "media")
    flt = exporting.export_filter("JSON", ground_truth_only=True)
    export = tmp_path / "gt.json"
    export.write_bytes(b"".join(exporting.open_export(db, lead, pid, "JSON", flt).chunks))
    assert len(json.loads(export.read_bytes())) == len(TRUTH)  # the empty images too
    out = {}
    for kind in ("COCO", "YOLO", "VOC"):
        converter = Converter(config=rect_config(TRUTH_CLASSES), project_dir=str(tmp_path),
                              download_resources=False)  # fmt: skip
        out[kind] = tmp_path / kind
        converter.convert(str(export), str(out[kind]), kind, is_dir=False)
    return out


def test_converter_coco_keeps_every_image_box_and_class(converted):
    coco = json.loads((converted["COCO"] / "result.json").read_text(encoding="utf-8"))
    names = {c["id"]: c["name"] for c in coco["categories"]}
    assert sorted(names.values()) == sorted(TRUTH_CLASSES)
    assert sorted(_name(im["file_name"]) for im in coco["images"]) == sorted(TRUTH)
    assert len(coco["annotations"]) == N_BOXES
    errors = []
    for image in coco["images"]:
        truth = TRUTH[_name(image["file_name"])]
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        if anns:
            assert (image["width"], image["height"]) == (truth.width, truth.height)
        else:  # the converter takes sizes from boxes: an image without any has none
            assert (image["width"], image["height"]) == (None, None)
        xyxy = [(x, y, x + w, y + h) for x, y, w, h in (a["bbox"] for a in anns)]
        errors.append(box_errors(truth, xyxy, [names[a["category_id"]] for a in anns]))
    _report("assay JSON -> label-studio-sdk COCO", errors, 1e-6)


def test_converter_yolo_keeps_every_image_box_and_class(converted):
    classes = (converted["YOLO"] / "classes.txt").read_text(encoding="utf-8").splitlines()
    assert sorted(classes) == sorted(TRUTH_CLASSES)
    files = sorted((converted["YOLO"] / "labels").iterdir())
    assert sorted(_by_stem(p.name) for p in files) == sorted(TRUTH)  # empty images: empty files
    errors = []
    for path in files:
        truth = TRUTH[_by_stem(path.name)]
        rows = np.array([[float(v) for v in line.split()]
                         for line in path.read_text().splitlines()]).reshape(-1, 5)  # fmt: skip
        c, wh = rows[:, 1:3], rows[:, 3:5]
        xyxy = np.concatenate([c - wh / 2, c + wh / 2], axis=1) * ([truth.width, truth.height] * 2)
        errors.append(box_errors(truth, xyxy, [classes[int(k)] for k in rows[:, 0]]))
    _report("assay JSON -> label-studio-sdk YOLO", errors, 1e-6)


def test_converter_voc_truncates_to_whole_pixels(converted):
    folder = converted["VOC"] / "Annotations"
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    # no file for an image without objects
    assert sorted(_by_stem(n) for n in files) == sorted(n for n, t in TRUTH.items() if len(t.xyxy))
    dataset = read_voc_files(files, convention="continuous")  # 0-based, as the converter writes
    errors, whole = [], []
    for image in dataset.images:
        truth = TRUTH[_name(image.key)]
        assert (image.width, image.height) == (truth.width, truth.height)
        regions = [r for r in dataset.regions if r.image == image.key]
        xyxy = [(r.x, r.y, r.x + r.w, r.y + r.h) for r in regions]
        errors.append(box_errors(truth, xyxy, [r.label for r in regions]))
        whole.append(errors[-1][(truth.xyxy == np.round(truth.xyxy)).all(axis=1)])
        # truncated: no edge past the truth's (column by column, in order)
        got = np.array([[r.x, r.y, r.x + r.w, r.y + r.h] for r in regions]).reshape(-1, 4)
        assert (np.sort(got, axis=0) <= np.sort(truth.xyxy, axis=0) + 1e-9).all()
    assert sum(len(e) for e in errors) == N_BOXES
    _report("assay JSON -> label-studio-sdk VOC (int truncation)", errors, 2)
    moved = sum(int((e > 0).any(axis=1).sum()) for e in whole)
    print(f"whole-pixel boxes moved by the truncation of percent noise: {moved} of "
          f"{sum(len(e) for e in whole)}")  # fmt: skip
