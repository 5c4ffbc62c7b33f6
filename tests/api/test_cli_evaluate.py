"""`assay evaluate`: Label Studio exports or COCO files scored without a server."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from assay.cli import app as cli_app
from builders import box


def _write(tmp_path, name, data):
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return str(path)


def test_label_studio_exports(tmp_path):
    gt = [
        {
            "id": i,
            "data": {"image": f"{i}.jpg"},
            "annotations": [
                {
                    "ground_truth": True,
                    "result": [box(10, 10, 10, 10), box(50, 50, 10, 10, label="Zebra")],
                }
            ],
        }
        for i in range(3)
    ]
    pred = [
        {
            "id": i,
            "data": {"image": f"{i}.jpg"},
            "annotations": [
                {
                    "completed_by": 7,
                    "result": [box(10, 10, 10, 10), box(50, 50, 10, 10, label="Zebra")],
                },
                {
                    "completed_by": {"email": "ben@x.org"},
                    "result": [box(10, 10, 10, 10, label="Giraffe")],
                },
            ],
            "predictions": [{"model_version": "det-v1", "result": [box(10.2, 10, 10, 10)]}],
        }
        for i in range(3)
    ]
    args = [
        "evaluate",
        "--gt",
        _write(tmp_path, "gt.json", gt),
        "--pred",
        _write(tmp_path, "pred.json", pred),
    ]
    result = CliRunner().invoke(cli_app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.output)}
    assert (rows["7"]["accuracy"], rows["7"]["scored"]) == (1.0, 3)
    assert (rows["ben@x.org"]["tp"], rows["ben@x.org"]["fp"], rows["ben@x.org"]["fn"]) == (0, 3, 6)
    assert (rows["det-v1"]["kind"], rows["det-v1"]["recall"]) == ("model", 0.5)
    csv_out = CliRunner().invoke(cli_app, [*args, "--csv"])
    assert csv_out.output.splitlines()[0].startswith("kind,name,scored,tp,fp,fn")
    table = CliRunner().invoke(cli_app, args)
    assert table.exit_code == 0 and "Scores against ground truth" in table.output  # names may fold
    strict = CliRunner().invoke(cli_app, [*args, "--json", "--iou-threshold", "0.99"])
    assert {r["name"]: r for r in json.loads(strict.output)}["det-v1"]["tp"] == 0


def test_bad_input_is_one_readable_line(tmp_path):
    good = _write(
        tmp_path, "gt.json", [{"id": 1, "data": {"image": "a"}, "annotations": [{"result": []}]}]
    )
    broken = tmp_path / "broken.json"
    broken.write_text("[{")
    r = CliRunner().invoke(cli_app, ["evaluate", "--gt", good, "--pred", str(broken)])
    assert r.exit_code == 1 and "not valid JSON" in r.output
    r = CliRunner().invoke(
        cli_app, ["evaluate", "--gt", good, "--pred", str(tmp_path / "missing.json")]
    )
    assert r.exit_code == 1 and "does not exist" in r.output
    bad_box = _write(
        tmp_path,
        "p.json",
        [{"id": 1, "data": {"image": "a"}, "annotations": [{"result": [box(1, 1, -3, 2)]}]}],
    )
    r = CliRunner().invoke(cli_app, ["evaluate", "--gt", good, "--pred", bad_box])
    assert r.exit_code == 1 and "pred[0].annotations[0]" in r.output
    other = _write(tmp_path, "o.json", [{"id": 99, "data": {"image": "zzz"}, "annotations": []}])
    r = CliRunner().invoke(cli_app, ["evaluate", "--gt", good, "--pred", other])
    assert r.exit_code == 1 and "no task pairs" in r.output


def test_coco_files(tmp_path):
    gt = {
        "images": [{"id": 1, "width": 100, "height": 100}, {"id": 2, "width": 100, "height": 100}],
        "categories": [{"id": 1, "name": "zebra"}],
        "annotations": [
            {
                "id": 1,
                "image_id": 1,
                "category_id": 1,
                "bbox": [10, 10, 40, 40],
                "area": 1600,
                "iscrowd": 0,
            }
        ],
    }
    dets = [{"image_id": 1, "category_id": 1, "bbox": [10, 10, 40, 40], "score": 0.9}]
    r = CliRunner().invoke(
        cli_app,
        [
            "evaluate",
            "--coco",
            "--gt",
            _write(tmp_path, "g.json", gt),
            "--pred",
            _write(tmp_path, "d.json", dets),
            "--json",
        ],
    )
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["stats"]["AP"] == 1.0 and out["per_class"][0]["ap"] == 1.0
    bad = _write(
        tmp_path,
        "bad.json",
        [{"image_id": 5, "category_id": 1, "bbox": [0, 0, 1, 1], "score": 0.5}],
    )
    r = CliRunner().invoke(
        cli_app, ["evaluate", "--coco", "--gt", _write(tmp_path, "g.json", gt), "--pred", bad]
    )
    assert r.exit_code == 1 and "image_id" in r.output


def test_bad_coco_files_get_one_line_naming_file_and_field(tmp_path):
    """Exit 1 and one readable line, no traceback: malformed JSON and a missing field."""
    gt_path = tmp_path / "gt.json"
    gt_path.write_text('{"images": [{"id": 1}], "categories": [{"id": 1}],\n "annotations": [,]}')
    dets = _write(tmp_path, "d.json", [])
    r = CliRunner().invoke(cli_app, ["evaluate", "--coco", "--gt", str(gt_path), "--pred", dets])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert "gt.json: malformed JSON at line 2 column" in r.output and "Traceback" not in r.output
    gt = {"images": [{"id": 1}], "categories": [{"id": 1}],
          "annotations": [{"id": 1, "image_id": 1, "category_id": 1}]}  # fmt: skip
    r = CliRunner().invoke(
        cli_app, ["evaluate", "--coco", "--gt", _write(tmp_path, "g.json", gt), "--pred", dets]
    )
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert "annotations[0].bbox: missing" in r.output and "Traceback" not in r.output
