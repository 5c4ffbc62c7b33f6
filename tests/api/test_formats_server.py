"""Import and export in COCO, YOLO, VOC and CSV through the server and the CLI: round trips,
filters, pycocotools loading the export, and bad files refused with nothing written."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from assay.cli import app as cli_app
from assay.formats.scout_csv import ANNOTATIONS_HEADER, IMAGES_HEADER
from builders import RECT_CONFIG, box


def _export(client, headers, project_id, kind, **params):
    query = "&".join(f"{k}={v}" for k, v in {"exportType": kind, **params}.items())
    r = client.get(f"/api/projects/{project_id}/export?{query}", headers=headers)
    assert r.status_code == 200, r.text
    return r


def _upload(client, headers, project_id, fmt, files, **params):
    query = "&".join(f"{k}={v}" for k, v in {"format": fmt, **params}.items())
    return client.post(
        f"/api/projects/{project_id}/import?{query}",
        files=[("file", (name, data)) for name, data in files.items()],
        headers=headers,
    )


def _new_project(client, people, title="copy"):
    r = client.post(
        "/api/projects",
        json={"title": title, "label_config": RECT_CONFIG},
        headers=people["lead"].headers,
    )
    return r.json()["id"]


@pytest.fixture
def survey(client, people, project):
    """Three images: two with GT (one Zebra, one Elephant + a rotated Giraffe), one without;
    an annotator's annotation (one accepted by review); model m1's predictions."""
    lead = people["lead"].headers
    gt0 = [box(10, 10, 20, 10, label="Zebra")]
    gt1 = [box(50, 40, 10, 20), box(5, 60, 10, 10, label="Giraffe", id="g")]
    gt1[1]["value"]["rotation"] = 30
    tasks = [
        {"data": {"image": "https://cdn.example.com/survey/a.jpg"},
         "annotations": [{"result": gt0, "ground_truth": True}],
         "predictions": [{"result": [box(10, 10, 20, 10, label="Zebra", score=0.9)], "model_version": "m1"}]},
        {"data": {"image": "https://cdn.example.com/survey/b.jpg"},
         "annotations": [{"result": gt1, "ground_truth": True}],
         "predictions": [{"result": [box(50, 40, 10, 20, score=0.7)], "model_version": "m1"}]},
        {"data": {"image": "https://cdn.example.com/survey/c.jpg"},
         "annotations": [], "predictions": []},
    ]  # fmt: skip
    for t in tasks:
        t["data"]["image"] = t["data"]["image"]
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true", json=tasks, headers=lead
    )
    ids = r.json()["task_ids"]
    # the third task has no regions to take a size from: give it one
    client.patch(f"/api/tasks/{ids[2]}", json={"data": tasks[2]["data"]}, headers=lead)
    from assay.store.models import Task

    with client.app.state.db.session() as s:
        s.get(Task, ids[2]).width, s.get(Task, ids[2]).height = 1600, 1200
    ann = client.post(
        f"/api/tasks/{ids[0]}/annotations",
        json={"result": [box(11, 10, 20, 10, label="Zebra")]},
        headers=people["annotator"].headers,
    ).json()
    client.post(
        f"/api/annotations/{ann['id']}/reviews",
        json={"action": "accept"},
        headers=people["reviewer"].headers,
    )
    client.post(
        f"/api/tasks/{ids[1]}/annotations",
        json={"result": [box(50, 40, 10, 20)]},
        headers=people["annotator2"].headers,
    )
    return {"project": project["id"], "tasks": ids, "annotation": ann["id"]}


def test_coco_export_of_the_answer_key_loads_in_pycocotools_and_scores_the_model(
    client, people, survey
):
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    lead = people["lead"].headers
    gt = _export(client, lead, survey["project"], "COCO", ground_truth_only="true").json()
    assert [im["file_name"] for im in gt["images"]] == ["survey/a.jpg", "survey/b.jpg"]
    assert [im["id"] for im in gt["images"]] == survey["tasks"][:2]  # task ids name images
    assert [c["name"] for c in gt["categories"]] == ["Elephant", "Zebra", "Giraffe"]
    assert len(gt["annotations"]) == 3
    zebra = next(a for a in gt["annotations"] if a["category_id"] == 2)
    assert zebra["bbox"] == pytest.approx([160, 120, 320, 120])  # percent -> pixels, exact
    model = _export(client, lead, survey["project"], "COCO", model_version="m1").json()
    detections = [
        {"image_id": a["image_id"], "category_id": a["category_id"], "bbox": a["bbox"],
         "score": a["score"]}
        for a in model["annotations"]
    ]  # fmt: skip
    assert sorted(d["score"] for d in detections) == [0.7, 0.9]
    coco = COCO()
    coco.dataset = gt
    coco.createIndex()
    ev = COCOeval(coco, coco.loadRes(detections), "bbox")
    ev.evaluate(), ev.accumulate(), ev.summarize()
    # two of three GT boxes found exactly; the rotated Giraffe missed
    assert ev.stats[8] == pytest.approx(2 / 3, abs=1e-6)  # AR@100


def test_coco_round_trip_into_a_new_project_keeps_boxes_and_the_gt_flag(client, people, survey):
    lead = people["lead"].headers
    exported = _export(client, lead, survey["project"], "COCO", ground_truth_only="true").content
    target = _new_project(client, people)
    r = _upload(client, lead, target, "coco", {"instances.json": exported}, create_missing="true")
    assert r.status_code == 201, r.text
    assert (r.json()["task_count"], r.json()["annotation_count"]) == (2, 2)
    again = _export(client, lead, target, "COCO", ground_truth_only="true").json()
    original = json.loads(exported)

    def boxes(doc):
        return sorted(
            (a["category_id"], *map(lambda v: round(v, 6), a["bbox"])) for a in doc["annotations"]
        )

    assert boxes(again) == boxes(original)
    rotated = [a for a in again["annotations"] if "box" in a["assay"]]
    assert len(rotated) == 1 and rotated[0]["assay"]["box"][4] == pytest.approx(30)
    assert all(a["assay"]["is_ground_truth"] for a in again["annotations"])


def test_coco_results_import_as_predictions_onto_existing_tasks(client, people, survey):
    lead = people["lead"].headers
    t0 = survey["tasks"][0]
    results = [{"image_id": t0, "category_id": 1, "bbox": [100, 100, 50, 50], "score": 0.42}]
    r = _upload(
        client, lead, survey["project"], "coco", {"results.json": json.dumps(results).encode()},
        model_version="det-v2",
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert (r.json()["task_count"], r.json()["matched_task_count"]) == (0, 1)
    preds = client.get(f"/api/predictions?task={t0}", headers=lead).json()
    mine = [p for p in preds if p["model_version"] == "det-v2"]
    assert len(mine) == 1 and mine[0]["score"] == pytest.approx(0.42)
    value = mine[0]["result"][0]["value"]
    assert (value["x"], value["width"]) == pytest.approx((100 / 16, 50 / 16))
    # the same detector's results again replace its predictions (#15 item 8: they doubled)
    results[0]["score"] = 0.9
    r = _upload(
        client, lead, survey["project"], "coco", {"results.json": json.dumps(results).encode()},
        model_version="det-v2",
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert (r.json()["prediction_count"], r.json()["replaced_prediction_count"]) == (1, 1)
    preds = client.get(f"/api/predictions?task={t0}", headers=lead).json()
    assert [p["score"] for p in preds if p["model_version"] == "det-v2"] == [pytest.approx(0.9)]


def test_yolo_export_and_prediction_import_match_tasks_by_image(client, people, survey):
    lead = people["lead"].headers
    exported = _export(client, lead, survey["project"], "YOLO", ground_truth_only="true")
    assert exported.headers["content-type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(exported.content))
    names = set(z.namelist())
    assert {"data.yaml", "labels/survey/a.txt", "labels/survey/b.txt", "NOTES.txt"} <= names
    assert z.read("labels/survey/a.txt").decode() == "1 0.2 0.15 0.2 0.1\n"
    assert "rotation" in z.read("NOTES.txt").decode()
    preds = {
        "data.yaml": z.read("data.yaml"),
        "labels/survey/c.txt": b"0 0.5 0.5 0.1 0.1 0.33\n",
    }
    r = _upload(client, lead, survey["project"], "yolo", preds, model_version="yolo-x")
    assert r.status_code == 201, r.text
    assert r.json()["prediction_count"] == 1 and r.json()["task_count"] == 0
    # assay's own zip, NOTES.txt and all, imports back (#15 item 8: it failed on NOTES.txt)
    r = _upload(
        client,
        lead,
        survey["project"],
        "yolo",
        {"gt.zip": exported.content},
        **{"as": "annotations"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["annotation_count"] >= 2 and r.json()["task_count"] == 0


@pytest.mark.parametrize(
    ("convention", "xmin", "xmax"),
    [(None, 161, 480), ("devkit", 161, 480), ("continuous", 160, 480)],
)
def test_voc_round_trip_creates_tasks_with_their_boxes(
    client, people, survey, convention, xmin, xmax
):
    """The Zebra of a.jpg (1600 px wide) covers [160, 480): the devkit's pixels 161..480."""
    lead = people["lead"].headers
    option = {"voc_convention": convention} if convention else {}
    r = _export(client, lead, survey["project"], "VOC", ground_truth_only="true", **option)
    z = zipfile.ZipFile(io.BytesIO(r.content))
    xml = z.read("Annotations/survey/a.xml").decode()
    assert f"<xmin>{xmin}</xmin>" in xml and f"<xmax>{xmax}</xmax>" in xml
    notes = z.read("NOTES.txt").decode()
    assert ("1-based" in notes) == (convention != "continuous"), notes
    target = _new_project(client, people)
    files = {n: z.read(n) for n in z.namelist() if n.endswith(".xml")}
    r = _upload(client, lead, target, "voc", files, create_missing="true", **option)
    assert r.status_code == 201, r.text
    assert r.json()["task_count"] == 2
    tasks = client.get(f"/api/tasks?project={target}", headers=lead).json()["tasks"]
    value = tasks[0]["annotations"][0]["result"][0]["value"]
    assert (value["x"], value["y"], value["width"]) == pytest.approx((10, 10, 20))


def test_voc_convention_must_be_known(client, people, survey):
    lead = people["lead"].headers
    p = survey["project"]
    r = client.get(f"/api/projects/{p}/export?exportType=VOC&voc_convention=matlab", headers=lead)
    assert r.status_code == 400
    assert r.json()["validation_errors"] == {
        "voc_convention": ["must be one of devkit, continuous"]
    }
    zipped = _export(client, lead, p, "VOC").content
    r = _upload(client, lead, p, "voc", {"gt.zip": zipped}, voc_convention="zero-based")
    assert r.status_code == 400
    assert r.json()["detail"] == "voc_convention: must be one of devkit, continuous"
    # a 0-based file read as the devkit's: refused, naming the option that reads it
    zero = (b"<annotation><filename>z.jpg</filename><size><width>10</width><height>10</height>"
            b"</size><object><name>Zebra</name><bndbox><xmin>0</xmin><ymin>0</ymin><xmax>5</xmax>"
            b"<ymax>5</ymax></bndbox></object></annotation>")  # fmt: skip
    r = _upload(client, lead, p, "voc", {"z.xml": zero})
    assert r.status_code == 400 and "voc_convention=continuous" in r.json()["detail"]
    r = _upload(client, lead, p, "voc", {"z.xml": zero}, voc_convention="continuous",
                create_missing="true")  # fmt: skip
    assert r.status_code == 201, r.text


def test_csv_export_opens_in_pandas_with_the_documented_header(client, people, survey):
    lead = people["lead"].headers
    r = _export(client, lead, survey["project"], "CSV")
    z = zipfile.ZipFile(io.BytesIO(r.content))
    images = pd.read_csv(io.BytesIO(z.read("images.csv")))
    regions = pd.read_csv(io.BytesIO(z.read("annotations.csv")))
    assert tuple(images.columns) == IMAGES_HEADER
    assert tuple(regions.columns) == ANNOTATIONS_HEADER
    assert list(images["gt_status"]) == ["none", "none", "none"]
    assert len(images) == 3  # the task without annotations too
    gt = regions[regions["is_ground_truth"]]
    assert len(gt) == 3  # the rotated Giraffe as its axis-aligned envelope
    assert "rotation" in z.read("NOTES.txt").decode()
    assert set(regions["author"].dropna()) >= {"annotator@example.com", "annotator2@example.com"}


def test_csv_import_brings_annotations_by_their_authors(client, people, survey):
    lead = people["lead"].headers
    header = ",".join(ANNOTATIONS_HEADER)
    rows = "survey/c.jpg,100,100,50,40,,Zebra,annotation,annotator@example.com,,,false\n"
    r = _upload(
        client, lead, survey["project"], "csv", {"annotations.csv": f"{header}\n{rows}".encode()}
    )
    assert r.status_code == 201, r.text
    anns = client.get(f"/api/tasks/{survey['tasks'][2]}/annotations", headers=lead).json()
    assert anns[0]["completed_by"] == people["annotator"].id


def test_export_filters(client, people, survey):
    lead = people["lead"].headers
    p = survey["project"]

    def annotation_ids(**params):
        data = _export(client, lead, p, "JSON", **params).json()
        return sorted(a["id"] for t in data for a in t["annotations"])

    assert annotation_ids(review_status="accepted") == [survey["annotation"]]
    assert annotation_ids(annotator=people["annotator2"].id) == sorted(
        a["id"]
        for a in client.get(f"/api/tasks/{survey['tasks'][1]}/annotations", headers=lead).json()
        if a["completed_by"] == people["annotator2"].id
    )
    data = _export(client, lead, p, "JSON", model_version="m1").json()
    assert {pr["model_version"] for t in data for pr in t["predictions"]} == {"m1"}
    bad = client.get(f"/api/projects/{p}/export?exportType=JSON&review_status=great", headers=lead)
    assert bad.status_code == 400
    bad = client.get(f"/api/projects/{p}/export?exportType=PDF", headers=lead)
    assert bad.status_code == 400 and "exportType" in bad.json()["validation_errors"]


def test_unknown_labels_are_listed_or_added(client, people, survey):
    lead = people["lead"].headers
    header = ",".join(ANNOTATIONS_HEADER)
    body = f"{header}\nsurvey/c.jpg,1,1,5,5,,Wildebeest,annotation,,,,false\n".encode()
    r = _upload(client, lead, survey["project"], "csv", {"annotations.csv": body})
    assert r.status_code == 400 and "Wildebeest" in r.json()["detail"]
    r = _upload(
        client, lead, survey["project"], "csv", {"annotations.csv": body}, add_labels="true"
    )
    assert r.status_code == 201, r.text
    assert r.json()["labels_added"] == ["Wildebeest"]
    config = client.get(f"/api/projects/{survey['project']}", headers=lead).json()
    assert "Wildebeest" in config["parsed_label_config"]["label"]["labels"]


@pytest.mark.parametrize(
    ("fmt", "files", "where"),
    [
        ("coco", {"bad.json": b"{not json"}, "bad.json"),
        (
            "yolo",
            {"data.yaml": b"names: [Elephant]\n", "labels/survey/c.txt": b"0 0.5 0.5 0.1\n"},
            "labels/survey/c.txt line 1",
        ),
        (
            "voc",
            {
                "a.xml": b"<annotation><filename>z.jpg</filename><size><width>10</width><height>10</height></size><object><name>Zebra</name><bndbox><xmin>1</xmin><ymin>1</ymin><xmax>50</xmax><ymax>5</ymax></bndbox></object></annotation>"
            },
            "xmax",
        ),
        (
            "coco",
            {
                "i.json": json.dumps(
                    {
                        "images": [{"id": 1, "file_name": "q.jpg", "width": 10, "height": 10}],
                        "categories": [{"id": 1, "name": "Zebra"}],
                        "annotations": [
                            {"id": 1, "image_id": 1, "category_id": 7, "bbox": [1, 1, 2, 2]}
                        ],
                    }
                ).encode()
            },
            "category_id",
        ),
    ],
)
def test_malformed_files_are_refused_with_file_line_and_field_and_write_nothing(
    client, people, survey, fmt, files, where
):
    lead = people["lead"].headers
    before = client.get(f"/api/tasks?project={survey['project']}", headers=lead).json()
    r = _upload(client, lead, survey["project"], fmt, files)
    assert r.status_code == 400, r.text
    assert where in r.json()["detail"]
    after = client.get(f"/api/tasks?project={survey['project']}", headers=lead).json()
    assert (after["total"], after["total_annotations"], after["total_predictions"]) == (
        before["total"],
        before["total_annotations"],
        before["total_predictions"],
    )


def test_cli_export_and_import_round_trip(client, people, survey, tmp_path, settings, monkeypatch):
    monkeypatch.setenv(
        "ASSAY_DATABASE_URL",
        str(client.app.state.db.engine.url.render_as_string(hide_password=False)),
    )
    monkeypatch.setenv("ASSAY_DATA_DIR", str(settings.data_dir))
    runner = CliRunner()
    out = tmp_path / "gt.zip"
    r = runner.invoke(
        cli_app,
        ["export", str(survey["project"]), "--format", "VOC", "--out", str(out),
         "--ground-truth-only", "--user", "lead@example.com"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert zipfile.ZipFile(out).namelist()[0].startswith("Annotations/")
    r = runner.invoke(cli_app, ["import", str(survey["project"]), str(out)])  # no --format
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "looks like a zip archive, not a Label Studio JSON list of tasks" in r.output
    target = _new_project(client, people)
    r = runner.invoke(
        cli_app, ["import", str(target), str(out), "--format", "voc", "--user", "lead@example.com"]
    )
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert "2 image(s) match no task of the project" in r.output and "--create-missing" in r.output
    r = runner.invoke(
        cli_app,
        ["import", str(target), str(out), "--format", "voc", "--annotator",
         "annotator@example.com", "--user", "lead@example.com", "--create-missing"],
    )  # fmt: skip
    assert r.exit_code != 0  # the annotator is not a member of the new project
    assert "not a member" in r.output
    r = runner.invoke(
        cli_app,
        ["import", str(target), str(out), "--format", "voc", "--user", "lead@example.com",
         "--create-missing"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "imported 2 new tasks" in r.output
    # the continuous convention both ways; an unknown one is refused by name
    cont = tmp_path / "gt-continuous.zip"
    r = runner.invoke(
        cli_app,
        ["export", str(survey["project"]), "--format", "VOC", "--out", str(cont),
         "--ground-truth-only", "--voc-convention", "continuous", "--user", "lead@example.com"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert b"<xmin>160</xmin>" in zipfile.ZipFile(cont).read("Annotations/survey/a.xml")
    r = runner.invoke(
        cli_app,
        ["import", str(_new_project(client, people)), str(cont), "--format", "voc",
         "--voc-convention", "continuous", "--user", "lead@example.com", "--create-missing"],
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    for command in (["export", str(survey["project"]), "--format", "VOC", "--out", str(cont)],
                    ["import", str(target), str(out), "--format", "voc"]):  # fmt: skip
        r = runner.invoke(cli_app, [*command, "--voc-convention", "matlab"])
        assert r.exit_code != 0
        assert "voc_convention: must be one of devkit, continuous" in r.output


def test_a_file_in_another_format_is_a_400_that_says_which(client, people, survey):
    xml = b"<annotation><filename>survey/a.jpg</filename></annotation>"
    r = _upload(client, people["lead"].headers, survey["project"], "coco", {"a.json": xml})
    assert r.status_code == 400, r.text
    assert "a.json looks like Pascal VOC XML, not coco: import it with format voc" in r.text


def test_an_empty_label_studio_answer_key_is_in_the_coco_export(client, people, settings):
    """#15 item 3: a Label Studio task whose GT is an empty result ("nothing here") had no size
    (only regions carry one in Label Studio JSON), so the COCO GT export left the image out and
    false positives on it went uncounted. Its media file now gives the size."""
    lead = people["lead"].headers
    target = _new_project(client, people)
    folder = settings.resolved_media_root / f"project-{target}" / "flight 7"
    folder.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (317, 211)).save(folder / "empty #1.png")
    Image.new("RGB", (400, 300)).save(folder / "herd.png")  # its regions say 1600 x 1200
    tasks = [
        {"data": {"image": f"/data/media/project-{target}/flight%207/empty%20%231.png"},
         "annotations": [{"result": [], "ground_truth": True}]},
        {"data": {"image": f"/data/media/project-{target}/flight%207/herd.png"},
         "annotations": [{"result": [box(10, 10, 20, 20)], "ground_truth": True}]},
        {"data": {"image": f"/data/media/project-{target}/flight%207/missing.png"}},  # no file: no size, no error
    ]  # fmt: skip
    r = client.post(f"/api/projects/{target}/import", json=tasks, headers=lead)
    assert r.status_code == 201, r.text
    coco = _export(client, lead, target, "COCO", ground_truth_only="true").json()
    images = {im["file_name"]: (im["width"], im["height"]) for im in coco["images"]}
    assert images == {
        f"project-{target}/flight 7/empty #1.png": (317, 211),
        f"project-{target}/flight 7/herd.png": (1600, 1200),
    }
    assert len(coco["annotations"]) == 1
