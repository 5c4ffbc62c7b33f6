"""Shapes beyond rectangles in the shared editor, in Chromium (issue #17 item 2): on the
annotate page an annotator draws a polygon (clicks, closes on the first point), drags and
deletes a vertex, places a keypoint, turns a box by its rotation handle and answers a Choices
field; the API reads back exactly that, and the polygon scores 1.0 against itself as GT."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import chromium
from assay.geometry.rotated import rotated_from_top_left, rotated_to_xyxy
from builders import import_tasks, job_aliases, make_job, survey_image
from chromium import drag, image_rect, percent_of, screen_point, sign_in

pytestmark = chromium.marks

SHAPES_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="car"/></RectangleLabels>
  <PolygonLabels name="outline" toName="image">
    <Label value="roof"/><Label value="tree"/>
  </PolygonLabels>
  <KeyPointLabels name="spot" toName="image"><Label value="nose"/></KeyPointLabels>
  <Choices name="weather" toName="image"><Choice value="sunny"/><Choice value="cloudy"/></Choices>
  <TextArea name="note" toName="image"/>
</View>"""


@pytest.fixture
def shapes(client, people, settings) -> dict:
    """A project with every tool and field, two tasks of a 600x400 image, a job of both."""
    lead = people["lead"]
    r = client.post(
        "/api/projects/",
        json={"title": "Shapes", "label_config": SHAPES_CONFIG},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    pid = r.json()["id"]
    r = client.post(
        f"/api/projects/{pid}/members", json={"user": people["annotator"].id}, headers=lead.headers
    )
    assert r.status_code == 201, r.text
    folder = Path(settings.resolved_media_root) / f"project-{pid}"
    folder.mkdir(parents=True, exist_ok=True)
    survey_image(folder / "roofs.png", 600, 400, seed=3)
    image = {"image": f"/data/media/project-{pid}/roofs.png"}
    ids = import_tasks(client, lead, pid, [{"data": image}] * 2)
    job = make_job(client, people, {"project": pid}, ids)
    return {"project": pid, "tasks": ids, "job": job["id"]}


def wait_task(page, not_task: int | None = None) -> int:
    page.wait_for_function(
        """(old) => {
            const ed = document.getElementById("an-editor");
            return ed.dataset.ready === "true" && ed.dataset.busy === "false"
                && ed.dataset.task !== String(old);
        }""",
        arg=not_task,
    )
    return int(page.get_attribute("#an-editor", "data-task"))


def pick(page, label: str) -> None:
    page.wait_for_selector("#gt-picker:not([hidden])")
    page.keyboard.type(label)
    page.keyboard.press("Enter")
    page.wait_for_selector("#gt-picker", state="hidden")


def saved(client, person, task: int) -> list[dict]:
    anns = client.get(f"/api/tasks/{task}/annotations", headers=person.headers).json()
    mine = [a for a in anns if a["completed_by"] == person.id]
    assert len(mine) == 1
    return mine[0]


def of_type(result: list[dict], kind: str) -> list[dict]:
    return [r for r in result if r["type"] == kind]


def close(a: list[float], b: list[float], tol: float = 0.5) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


def test_a_polygon_drawn_edited_and_saved_reads_back_and_scores_one(
    live_server, client, people, shapes
):
    ann = people["annotator"]
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, ann, f"/jobs/{shapes['job']}/annotate")
        task = wait_task(page)
        page.keyboard.press("p")
        assert page.get_attribute(".gt-tools [data-kind=polygon]", "aria-pressed") == "true"
        rect = image_rect(page)
        corners = [(10, 10), (40, 10), (40, 40), (10, 40)]
        for x, y in corners:
            page.mouse.click(*screen_point(rect, x, y))
        page.wait_for_selector(".gt-draft-first")
        page.mouse.click(*screen_point(rect, 10, 10))  # the first point closes it
        pick(page, "roof")
        assert page.text_content("#an-box-count") == "· 1 region"
        poly = '#gt-left g.gt-box[data-kind="polygon"]'
        # move the third vertex (40, 40) to (50, 50)
        drag(page, screen_point(rect, 40, 40), screen_point(rect, 50, 50))
        page.wait_for_selector(f"{poly} .gt-vertex.chosen")
        # choose the fourth vertex and delete it
        page.click(f'{poly} .gt-vertex[data-vertex="3"]')
        page.wait_for_selector(f'{poly} .gt-vertex[data-vertex="3"].chosen')
        page.keyboard.press("Delete")
        page.wait_for_function(
            "() => document.querySelectorAll('#gt-left .gt-vertex').length === 3"
        )
        chromium.shot(page, "annotate-polygon")
        page.keyboard.press("Control+Enter")
        wait_task(page, task)
    ann_json = saved(client, ann, task)
    polygons = of_type(ann_json["result"], "polygonlabels")
    assert len(polygons) == 1 and ann_json["result"] == polygons
    value = polygons[0]["value"]
    assert value["polygonlabels"] == ["roof"]
    expected = [[10, 10], [40, 10], [50, 50]]
    assert len(value["points"]) == 3
    assert all(close(p, q) for p, q in zip(value["points"], expected, strict=True)), value
    # the same polygon as ground truth scores the drawn one 1.0 (the annotator's page names
    # the task by its alias in the job; the lead knows it by its real id)
    lead = people["lead"].headers
    real = {a: t for t, a in job_aliases(client, shapes["job"]).items()}[task]
    gt = {"result": ann_json["result"], "ground_truth": True}
    assert client.post(f"/api/tasks/{real}/annotations", json=gt, headers=lead).status_code == 201
    q = client.get(f"/api/annotations/{ann_json['id']}/quality", headers=lead).json()
    assert q["accuracy"] == 1.0


def test_a_keypoint_a_rotated_box_and_a_choice_are_saved_as_drawn(
    live_server, client, people, shapes
):
    ann = people["annotator"]
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, ann, f"/jobs/{shapes['job']}/annotate")
        task = wait_task(page)
        rect = image_rect(page)
        # a keypoint: K, click, label
        page.keyboard.press("k")
        page.mouse.click(*screen_point(rect, 70, 20))
        pick(page, "nose")
        # a box (X), then turned by its handle
        page.keyboard.press("x")
        drag(page, screen_point(rect, 30, 40), screen_point(rect, 50, 60))
        pick(page, "car")
        handle = page.locator('#gt-left g[data-kind="box"] .gt-rotate').bounding_box()
        start = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
        pivot = screen_point(rect, 30, 40)  # the box turns around its top-left corner
        end = (start[0] + 60, start[1] + 40)
        drag(page, start, end)
        corners = page.eval_on_selector(
            '#gt-left g[data-kind="box"] .gt-body',
            """(el) => {
                const m = el.getScreenCTM();
                const [x, y, w, h] = ["x", "y", "width", "height"].map((k) => +el.getAttribute(k));
                return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]].map(([a, b]) => {
                    const p = new DOMPoint(a, b).matrixTransform(m);
                    return [p.x, p.y];
                });
            }""",
        )  # the four corners of the box as drawn, on screen
        # a choice beside the image
        page.check('#gt-fields input[value="cloudy"]')
        page.wait_for_function(
            "() => document.getElementById('an-editor').dataset.dirty === 'true'"
        )
        chromium.shot(page, "annotate-shapes")
        page.keyboard.press("Control+Enter")
        wait_task(page, task)
    result = saved(client, ann, task)["result"]
    (point,) = of_type(result, "keypointlabels")
    assert point["value"]["keypointlabels"] == ["nose"]
    assert close([point["value"]["x"], point["value"]["y"]], [70, 20])
    (box,) = of_type(result, "rectanglelabels")
    angle = lambda p: math.degrees(math.atan2(p[1] - pivot[1], p[0] - pivot[0]))  # noqa: E731
    expected = (angle(end) - angle(start)) % 360
    assert abs(box["value"]["rotation"] - expected) < 1.0, (box["value"], expected)
    assert close([box["value"]["x"], box["value"]["y"]], [30, 40])
    assert close(percent_of(rect, *pivot), [30, 40])
    # the scorer's reading of the saved box (assay.geometry) is what the editor drew
    v = box["value"]
    px = [v["x"] * 6, v["y"] * 4, v["width"] * 6, v["height"] * 4]  # a 600 x 400 image
    x0, y0, x1, y1 = rotated_to_xyxy(rotated_from_top_left(*[[n] for n in px], [v["rotation"]]))[0]
    scale = rect["width"] / 600
    xs, ys = [c[0] for c in corners], [c[1] for c in corners]
    envelope = [min(xs), min(ys), max(xs), max(ys)]
    expected_env = [rect["x"] + x0 * scale, rect["y"] + y0 * scale,
                    rect["x"] + x1 * scale, rect["y"] + y1 * scale]  # fmt: skip
    assert close(envelope, expected_env, tol=3), (envelope, expected_env)  # screen pixels
    (choice,) = of_type(result, "choices")
    assert choice["value"] == {"choices": ["cloudy"]} and choice["from_name"] == "weather"
    assert not of_type(result, "textarea")  # an empty text box saves nothing


def test_predictions_prefill_the_editor_only_when_the_project_says_so(
    live_server, client, people, shapes
):
    lead, ann = people["lead"], people["annotator"]
    polygon = {
        "id": "pred1",
        "type": "polygonlabels",
        "from_name": "outline",
        "to_name": "image",
        "original_width": 600,
        "original_height": 400,
        "score": 0.8,
        "value": {"points": [[20, 20], [60, 20], [40, 70]], "polygonlabels": ["tree"]},
    }
    for task in shapes["tasks"]:
        body = {"task": task, "model_version": "m1", "score": 0.8, "result": [polygon]}
        assert client.post("/api/predictions", json=body, headers=lead.headers).status_code == 201
    url = f"/jobs/{shapes['job']}/annotate"
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, ann, url)
        task = wait_task(page)
        assert page.get_attribute("#an-editor", "data-prefilled") == "false"
        assert page.locator("#gt-left g.gt-box").count() == 0
        r = client.patch(
            f"/api/projects/{shapes['project']}",
            json={"show_collab_predictions": True},
            headers=lead.headers,
        )
        assert r.status_code == 200, r.text
        page.reload()
        assert wait_task(page) == task
        assert page.get_attribute("#an-editor", "data-prefilled") == "true"
        assert page.text_content("#an-box-count") == "· 1 region"
        assert page.get_attribute('#gt-left g[data-kind="polygon"]', "data-label") == "tree"
        page.keyboard.press("Control+Enter")
        wait_task(page, task)
    ann_json = saved(client, ann, task)
    (region,) = ann_json["result"]
    assert region["value"]["points"] == polygon["value"]["points"]
    assert region["value"]["polygonlabels"] == ["tree"] and "score" not in region
    assert ann_json.get("prediction") in (None, {}) and not ann_json.get("parent_prediction")


def test_the_ground_truth_stage_edits_an_annotators_polygon(live_server, client, people, shapes):
    lead, ann = people["lead"], people["annotator"]
    polygon = {
        "type": "polygonlabels",
        "from_name": "outline",
        "to_name": "image",
        "value": {"points": [[20, 20], [60, 20], [40, 70]], "polygonlabels": ["roof"]},
    }
    aliases = job_aliases(client, shapes["job"])  # the annotator sends the job's aliases
    for task in shapes["tasks"]:
        body = {"job": shapes["job"], "result": [polygon]}
        r = client.post(f"/api/tasks/{aliases[task]}/annotations", json=body, headers=ann.headers)
        assert r.status_code == 201, r.text
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, lead, f"/jobs/{shapes['job']}/ground-truth")
        page.wait_for_function(
            """() => { const ed = document.getElementById("gt-editor");
                       return ed.dataset.ready === "true" && ed.dataset.busy === "false"; }"""
        )
        task = int(page.get_attribute("#gt-editor", "data-task"))
        rect = image_rect(page)
        page.mouse.click(*screen_point(rect, 40, 35))  # inside: selects it
        page.wait_for_selector('#gt-left g[data-kind="polygon"].selected')
        drag(page, screen_point(rect, 20, 20), screen_point(rect, 25, 10))
        page.keyboard.press("Control+Enter")
        page.wait_for_function(
            """(old) => { const ed = document.getElementById("gt-editor");
                          return ed.dataset.busy === "false" && ed.dataset.task !== String(old); }""",
            arg=task,
        )
    anns = client.get(f"/api/tasks/{task}/annotations", headers=lead.headers).json()
    (gt,) = [a for a in anns if a.get("ground_truth")]
    (region,) = gt["result"]
    points = region["value"]["points"]
    assert close(points[0], [25, 10]) and points[1:] == [[60, 20], [40, 70]], points
