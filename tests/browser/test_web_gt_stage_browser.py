"""The ground-truth stage editor in a real browser: Debian's Chromium driven by playwright.

A lead draws, labels, moves and deletes boxes, compares with a reference, zooms and pans, goes
Back and presses Done; the tests then read the stored ground truth through the API and compare
its percent coordinates with what was drawn on screen. Screenshots land in
test-output/screenshots/ (git-ignored).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import chromium
from builders import box, survey_image
from chromium import drag, image_rect, percent_of, screen_point, sign_in

TOLERANCE = 0.5  # percent of the image size; a pixel on screen is about 0.15 % here

pytestmark = chromium.marks

FIRST = [box(10, 15, 20, 20, "Elephant"), box(60, 50, 15, 20, "Zebra")]
SECOND = [
    box(11, 16, 19, 19, "Elephant"),
    box(61, 51, 14, 19, "Zebra"),
    box(35, 70, 10, 15, "Giraffe"),
]
MODEL = {"model_version": "det-v1", "score": 0.8, "result": [box(40, 40, 10, 10, "Zebra")]}


# -- set-up ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def aerial_jpeg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One 6000 x 4000 JPEG, made once per run."""
    path = tmp_path_factory.mktemp("aerial") / "aerial.jpg"
    survey_image(path, 6000, 4000, seed=3, fmt="JPEG")
    return path


def annotate(client, person, job_id: int, result: list) -> None:
    """The annotator works through their queue of the job with the same regions on each task."""
    while True:
        nxt = client.get(f"/api/jobs/{job_id}/next", headers=person.headers).json()
        if nxt["complete"]:
            return
        r = client.post(
            f"/api/tasks/{nxt['task']['id']}/annotations",
            json={"job": job_id, "result": result},
            headers=person.headers,
        )
        assert r.status_code == 201, r.text


def make_job(client, people, project, settings, images: list[str], title: str) -> dict:
    """Tasks for the images (paths under the project's media folder), a job of them annotated by both
    annotators (FIRST and SECOND), and a model's prediction on each."""
    lead = people["lead"].headers
    items = [
        {"data": {"image": f"/data/media/project-{project['id']}/{p}"}, "predictions": [MODEL]}
        for p in images
    ]
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true", json=items, headers=lead
    )
    assert r.status_code == 201, r.text
    ids = r.json()["task_ids"]
    job = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={
            "title": title,
            "task_ids": ids,
            "assignees": [people["annotator"].id, people["annotator2"].id],
        },
        headers=lead,
    ).json()["id"]
    annotate(client, people["annotator"], job, FIRST)
    annotate(client, people["annotator2"], job, SECOND)
    return {"job": job, "tasks": ids}


@pytest.fixture
def media(settings, project) -> Path:
    """The project's media folder, the one its tasks may show."""
    root = settings.resolved_media_root / f"project-{project['id']}"
    root.mkdir(parents=True, exist_ok=True)
    return root


@pytest.fixture
def browser_page():
    with chromium.new_page(1400, 860) as page:
        yield page


def shot(page, name: str) -> None:
    chromium.shot(page, name, full_page=False)


def open_stage(page, live_server: str, person, job_id: int) -> None:
    sign_in(page, live_server, person, f"/jobs/{job_id}/ground-truth")
    wait_ready(page)


def wait_ready(page, not_task: int | None = None) -> int:
    """Wait until the editor shows a task (another than `not_task`); returns its id."""
    page.wait_for_function(
        """(old) => {
            const ed = document.getElementById("gt-editor");
            return ed && ed.dataset.ready === "true" && ed.dataset.busy === "false"
                && ed.dataset.task !== String(old);
        }""",
        arg=not_task,
    )
    return int(page.get_attribute("#gt-editor", "data-task"))


# -- geometry on screen ---------------------------------------------------------------------------


def stored_gt(client, lead, task_id: int) -> list[dict]:
    anns = client.get(f"/api/tasks/{task_id}/annotations", headers=lead.headers).json()
    [gt] = [a for a in anns if a.get("ground_truth")]
    return gt["result"]


def assert_close(value: dict, expected: dict) -> None:
    for key, want in expected.items():
        assert abs(value[key] - want) <= TOLERANCE, (key, value, expected)


def left_labels(page) -> list[str]:
    return sorted(
        page.locator("#gt-left g.gt-box").evaluate_all("gs => gs.map(g => g.dataset.label)")
    )


# -- tests ----------------------------------------------------------------------------------------


def test_lead_draws_labels_moves_deletes_compares_and_done_stores_exactly_that(
    browser_page, live_server, client, people, project, settings, media
):
    page, lead = browser_page, people["lead"]
    for i in range(2):
        survey_image(media / f"survey/t{i}.png", 800, 600, seed=i)
    s = make_job(client, people, project, settings, ["survey/t0.png", "survey/t1.png"], "Block A")
    # the job list links to the stage
    sign_in(page, live_server, lead, f"/projects/{project['id']}/jobs")
    shot(page, "gt-jobs-ready")
    page.click(f"tr[data-job='{s['job']}'] >> text=Ground-truth stage")
    page.wait_for_url(f"{live_server}/jobs/{s['job']}/ground-truth")
    wait_ready(page)
    task = int(page.get_attribute("#gt-editor", "data-task"))
    assert task in s["tasks"]

    # the editor starts from the first annotator's boxes; the reference is the second's
    assert left_labels(page) == ["Elephant", "Zebra"]
    assert (
        page.locator("#gt-start-from option:checked")
        .inner_text()
        .startswith("annotator@example.com · 2 boxes")
    )
    assert page.locator("#gt-right").is_visible()
    assert "annotator2@example.com" in page.inner_text("#gt-reference-title")
    assert page.inner_text("#gt-reference-count") == "· 3 boxes"
    assert page.locator("#gt-right g.gt-box").count() == 3
    assert page.inner_text("#gt-progress-text") == "0 of 2 done · 0 %"
    assert page.inner_text("#gt-done") == "Done"

    # a box whose label picker is cancelled with Esc is dropped again
    rect = image_rect(page)
    drag(page, screen_point(rect, 80, 10), screen_point(rect, 90, 20))
    page.keyboard.press("Escape")
    assert page.locator("#gt-picker").is_hidden() and left_labels(page) == ["Elephant", "Zebra"]

    # draw a box in an empty part, type part of a label and press Enter
    start, end = screen_point(rect, 40, 10), screen_point(rect, 55, 32)
    drag(page, start, end)
    assert page.locator("#gt-picker").is_visible()
    page.keyboard.type("gir")
    assert page.locator("#gt-picker li").all_inner_texts() == ["Giraffe"]
    shot(page, "gt-stage-label-picker")
    page.keyboard.press("Enter")
    assert page.locator("#gt-picker").is_hidden()
    drawn = page.locator("#gt-left g.gt-box.selected")
    assert drawn.get_attribute("data-label") == "Giraffe"

    # move it: drag its middle by (+36, +24) screen pixels
    middle = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    drag(page, middle, (middle[0] + 36, middle[1] + 24))
    x0, y0 = percent_of(rect, start[0] + 36, start[1] + 24)

    # resize it by its bottom-right handle
    handle = page.locator("#gt-left g.gt-box.selected .gt-handle-se").bounding_box()
    corner = (handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2)
    assert corner == pytest.approx((end[0] + 36, end[1] + 24), abs=1)
    drag(page, corner, (corner[0] + 30, corner[1] + 12))
    x1, y1 = percent_of(rect, corner[0] + 30, corner[1] + 12)
    giraffe = {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}

    # delete one of the starting boxes: click it, press Delete
    page.mouse.click(*screen_point(rect, 20, 25))
    assert page.locator("#gt-left g.gt-box.selected").get_attribute("data-label") == "Elephant"
    assert page.locator("#gt-delete").is_enabled()
    page.keyboard.press("Delete")
    assert left_labels(page) == ["Giraffe", "Zebra"]

    # the reference pulldown: the model, then the first annotator
    options = page.locator("#gt-reference option").all_inner_texts()
    assert options[0] == "None" and len(options) == 4
    model = next(o for o in options if o.startswith("model det-v1"))
    page.select_option("#gt-reference", label=model)
    assert page.inner_text("#gt-reference-count") == "· 1 box"
    assert page.locator("#gt-right g.gt-box").count() == 1
    assert page.text_content("#gt-right g.gt-box text") == "Zebra"
    assert page.inner_text("#gt-reference-title") == "model det-v1 · score 0.80"
    first = next(o for o in options if "annotator@example.com" in o)
    page.select_option("#gt-reference", label=first)
    assert page.inner_text("#gt-reference-count") == "· 2 boxes"
    # the reference draws its boxes where they belong on the right
    right = image_rect(page, "#gt-right")
    zebra = page.locator("#gt-right g.gt-box[data-label=Zebra] .gt-body").bounding_box()
    assert abs(zebra["x"] + zebra["width"] / 2 - screen_point(right, 67.5, 60)[0]) < 2
    page.mouse.move(10, 10)
    shot(page, "gt-stage-editor")

    page.click("#gt-done")
    nxt = wait_ready(page, not_task=task)
    assert nxt in s["tasks"] and nxt != task
    assert page.inner_text("#gt-progress-text") == "1 of 2 done · 50 %"
    assert "saved as done, 2 regions" in page.inner_text("#gt-status")
    # the chosen reference (first annotator) is kept for the next task
    assert page.inner_text("#gt-reference-count") == "· 2 boxes"

    result = stored_gt(client, lead, task)
    assert sorted(r["value"]["rectanglelabels"][0] for r in result) == ["Giraffe", "Zebra"]
    stored = {r["value"]["rectanglelabels"][0]: r for r in result}
    assert_close(stored["Giraffe"]["value"], giraffe)
    assert stored["Zebra"]["value"] == {**FIRST[1]["value"]}
    for region in result:
        assert (region["from_name"], region["to_name"], region["type"]) == (
            "label",
            "image",
            "rectanglelabels",
        )
        assert (region["original_width"], region["original_height"]) == (800, 600)
        assert region["image_rotation"] == 0 and region["id"]
    assert client.get(f"/api/tasks/{task}", headers=lead.headers).json()["gt_status"] == "done"
    # the annotators' annotations are untouched
    anns = client.get(f"/api/tasks/{task}/annotations", headers=lead.headers).json()
    assert sorted(len(a["result"]) for a in anns if not a["ground_truth"]) == [2, 3]


def test_zoom_and_pan_keep_boxes_in_original_pixels_on_a_6000_by_4000_image(
    browser_page, live_server, client, people, project, settings, media, aerial_jpeg
):
    page, lead = browser_page, people["lead"]
    shutil.copy(aerial_jpeg, media / "aerial.jpg")
    s = make_job(client, people, project, settings, ["aerial.jpg"], "Aerial")
    open_stage(page, live_server, lead, s["job"])
    # the thumbnail shows first, scaled up; the full image takes its place once loaded
    page.wait_for_selector("#gt-left .gt-image[data-full='true']")
    natural = page.eval_on_selector(
        "#gt-left .gt-image", "img => [img.naturalWidth, img.naturalHeight]"
    )
    assert natural == [6000, 4000]
    fitted = image_rect(page)
    assert fitted["width"] < 700  # fitted into the half-width pane

    # zoom in with the button and with ctrl+wheel at a point: that image point stays put
    page.click("#gt-zoom-in")
    page.click("#gt-zoom-in")
    rect = image_rect(page)
    assert rect["width"] == pytest.approx(fitted["width"] * 1.5625, rel=0.01)
    anchor = screen_point(rect, 62, 58)
    page.mouse.move(*anchor)
    began = time.monotonic()
    for _ in range(4):
        page.keyboard.down("Control")
        page.mouse.wheel(0, -120)
        page.keyboard.up("Control")
    page.wait_for_timeout(50)
    zoomed = image_rect(page)
    assert zoomed["width"] > rect["width"] * 1.9
    assert percent_of(zoomed, *anchor) == pytest.approx((62, 58), abs=0.3)
    assert time.monotonic() - began < 5  # no re-encoding: zooming a 24-megapixel image is quick

    # pan: hold space and drag; then scroll bars (scrollLeft) move both panes together
    viewport = "#gt-left .gt-viewport"
    before = page.eval_on_selector(viewport, "v => [v.scrollLeft, v.scrollTop]")
    centre = page.locator(viewport).bounding_box()
    cx, cy = centre["x"] + centre["width"] / 2, centre["y"] + centre["height"] / 2
    page.keyboard.down(" ")
    drag(page, (cx, cy), (cx - 150, cy - 90))
    page.keyboard.up(" ")
    after = page.eval_on_selector(viewport, "v => [v.scrollLeft, v.scrollTop]")
    assert after[0] == pytest.approx(before[0] + 150, abs=2)
    assert after[1] == pytest.approx(before[1] + 90, abs=2)
    assert (
        page.eval_on_selector("#gt-right .gt-viewport", "v => [v.scrollLeft, v.scrollTop]") == after
    )
    assert page.locator("#gt-left g.gt-box").count() == 2  # panning drew nothing
    for pane in ("#gt-left", "#gt-right"):  # label tags keep their size on screen
        tag = page.locator(f"{pane} g.gt-box[data-label=Zebra] .gt-tag").bounding_box()
        assert tag["height"] == pytest.approx(16, abs=1), pane

    # the starting boxes sit where their percent coordinates say, zoomed and panned
    rect = image_rect(page)
    zebra = page.locator("#gt-left g.gt-box[data-label=Zebra] .gt-body").bounding_box()
    sx, sy = screen_point(rect, 60 + 15 / 2, 50 + 20 / 2)  # its centre
    assert abs(zebra["x"] + zebra["width"] / 2 - sx) < 1.5
    assert abs(zebra["y"] + zebra["height"] / 2 - sy) < 1.5

    # draw where the view is now, pick the label with the arrow keys
    vp = page.locator(viewport).bounding_box()
    start = (vp["x"] + vp["width"] * 0.3, vp["y"] + vp["height"] * 0.3)
    end = (vp["x"] + vp["width"] * 0.55, vp["y"] + vp["height"] * 0.6)
    drag(page, start, end)
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")  # the list starts at Elephant: two down is Giraffe
    x0, y0 = percent_of(rect, *start)
    x1, y1 = percent_of(rect, *end)
    expected = {"x": x0, "y": y0, "width": x1 - x0, "height": y1 - y0}
    assert 0 < x0 < x1 < 100 and 0 < y0 < y1 < 100
    shot(page, "gt-stage-zoomed-6000x4000")

    # zoom back out with the keyboard; Done stores the box in original pixels
    page.keyboard.press("0")
    assert image_rect(page)["width"] == pytest.approx(fitted["width"], abs=1)
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{live_server}/jobs/{s['job']}/ground-truth/complete")
    result = stored_gt(client, lead, s["tasks"][0])
    giraffe = next(r for r in result if r["value"]["rectanglelabels"] == ["Giraffe"])
    assert_close(giraffe["value"], expected)
    assert (giraffe["original_width"], giraffe["original_height"]) == (6000, 4000)
    assert len(result) == 3  # the two starting boxes and the new one


def test_back_revise_empty_and_the_completion_page(
    browser_page, live_server, client, people, project, settings, media
):
    page, lead = browser_page, people["lead"]
    for i in range(3):
        survey_image(media / f"block/t{i}.png", 640, 480, seed=i + 2)
    s = make_job(client, people, project, settings, [f"block/t{i}.png" for i in range(3)], "B")
    open_stage(page, live_server, lead, s["job"])

    # start from the second annotator instead: the same task with their three boxes
    first = int(page.get_attribute("#gt-editor", "data-task"))
    page.select_option("#gt-start-from", value=str(people["annotator2"].id))
    page.wait_for_function(
        "() => document.querySelectorAll('#gt-left g.gt-box').length === 3"
        " && document.getElementById('gt-editor').dataset.busy === 'false'"
    )
    assert int(page.get_attribute("#gt-editor", "data-task")) == first
    page.click("#gt-done")
    second = wait_ready(page, not_task=first)
    assert left_labels(page) == ["Elephant", "Giraffe", "Zebra"]  # the choice is kept

    # delete every box: the button says the task will be empty
    for _ in range(3):
        page.locator("#gt-left g.gt-box .gt-body").first.click(force=True)
        page.click("#gt-delete")
    assert page.inner_text("#gt-done") == "Done — empty"
    page.click("#gt-done")
    third = wait_ready(page, not_task=second)
    assert client.get(f"/api/tasks/{second}", headers=lead.headers).json()["gt_status"] == "empty"

    # Back twice: the task done last, then the one before, each with its saved GT
    page.click("#gt-back")
    assert wait_ready(page, not_task=third) == second
    assert page.locator("#gt-revising").is_visible() and left_labels(page) == []
    page.keyboard.press("b")
    assert wait_ready(page, not_task=second) == first
    assert left_labels(page) == ["Elephant", "Giraffe", "Zebra"]
    # Back past the first: the API's answer is shown, the task stays
    page.click("#gt-back")
    page.wait_for_selector("#gt-message:not([hidden])")
    assert page.inner_text("#gt-message") == "No earlier task in this job's ground-truth stage."
    assert int(page.get_attribute("#gt-editor", "data-task")) == first

    # revise the first: drop the Giraffe; Done sends revise and goes on to the open task
    rect = image_rect(page)
    page.mouse.click(*screen_point(rect, 40, 77))
    assert page.locator("#gt-left g.gt-box.selected").get_attribute("data-label") == "Giraffe"
    page.keyboard.press("Backspace")
    page.click("#gt-done")
    assert wait_ready(page, not_task=first) == third
    assert page.locator("#gt-revising").is_hidden()
    revised = stored_gt(client, lead, first)
    assert sorted(r["value"]["rectanglelabels"][0] for r in revised) == ["Elephant", "Zebra"]
    gt = next(
        a
        for a in client.get(f"/api/tasks/{first}/annotations", headers=lead.headers).json()
        if a["ground_truth"]
    )
    assert gt["revision"] == 2

    # relabel with L on the last task, then Done: 100 % shows the completion page
    page.mouse.click(*screen_point(image_rect(page), 20, 25))
    page.keyboard.press("l")
    page.keyboard.type("zeb")
    page.keyboard.press("Enter")
    assert left_labels(page) == ["Giraffe", "Zebra", "Zebra"]
    page.click("#gt-done")
    page.wait_for_url(f"{live_server}/jobs/{s['job']}/ground-truth/complete")
    assert page.inner_text("main h1") == "Ground truth finished"
    counts = {
        key: page.inner_text(f"#count-{key}") for key in ("total", "done", "empty", "regions")
    }
    assert counts == {"total": "3", "done": "2", "empty": "1", "regions": "5"}
    shot(page, "gt-stage-complete")
    labels = [r["value"]["rectanglelabels"][0] for r in stored_gt(client, lead, third)]
    assert sorted(labels) == ["Giraffe", "Zebra", "Zebra"]

    # the job list now says Finished
    page.click("text=All jobs")
    assert "Finished" in page.inner_text(f"tr[data-job='{s['job']}']")
    shot(page, "gt-jobs")


def test_api_errors_and_missing_images_are_shown(
    browser_page, live_server, client, people, project, settings, media
):
    page, lead = browser_page, people["lead"]
    for name in ("one.png", "two.png"):
        survey_image(media / name, 400, 300, seed=1)
    s = make_job(client, people, project, settings, ["one.png", "two.png"], "Errors")
    url = f"/api/jobs/{s['job']}/ground-truth/next"
    first = client.get(url, headers=lead.headers).json()["task"]["id"]
    [second] = [t for t in s["tasks"] if t != first]
    missing = media / ("one.png" if second == s["tasks"][0] else "two.png")
    missing.unlink()  # the image of the task shown second is gone
    open_stage(page, live_server, lead, s["job"])
    assert int(page.get_attribute("#gt-editor", "data-task")) == first

    # someone else finishes the task on screen: Done answers 409 and the page says why
    r = client.post(
        f"/api/tasks/{first}/ground-truth/done",
        json={"job": s["job"], "result": []},
        headers=people["admin"].headers,
    )
    assert r.status_code == 200, r.text
    page.click("#gt-done")
    page.wait_for_selector("#gt-message:not([hidden])")
    assert page.inner_text("#gt-message") == f"Task {first} is done already; use Back to change it."
    assert int(page.get_attribute("#gt-editor", "data-task")) == first

    # a reload moves on; the next image is missing: the page says so, Done keeps the regions
    page.reload()
    assert wait_ready(page, not_task=first) == second
    page.wait_for_selector("#gt-message:not([hidden])")
    assert (
        f"could not be loaded (/data/media/project-{project['id']}/{missing.name})"
        in page.inner_text("#gt-message")
    )
    assert page.locator("#gt-left g.gt-box").count() == 0
    assert page.inner_text("#gt-done") == "Done"
    page.click("#gt-done")
    page.wait_for_url(f"{live_server}/jobs/{s['job']}/ground-truth/complete")
    assert stored_gt(client, lead, second) == FIRST
