"""The web pages in a real browser: Debian's Chromium driven by playwright, never a downloaded one.

Screenshots land in test-output/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import base64
import io
import math

import pytest

import chromium
from builders import box

pytestmark = chromium.marks


def png_data_url(width: int = 400, height: int = 300) -> str:
    """A small test image as a data: URL, so the test needs no media route."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (206, 222, 196))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(160, 140, 100))
    draw.ellipse((40, 60, 160, 150), fill=(120, 120, 130))
    draw.ellipse((250, 90, 330, 170), fill=(90, 90, 95))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


@pytest.fixture
def browser_page():
    with chromium.new_page(1280, 800) as page:
        yield page


def shot(page, name: str) -> None:
    chromium.shot(page, name, full_page=True)


def assert_box_on_screen(page, index: int, region: dict) -> None:
    """The index-th drawn shape sits where its percent coordinates say, within 2 px.

    The on-screen box includes the outline, which is centred on the region's edges.
    """
    image = page.locator("#task-image").bounding_box()
    shape = page.locator("#overlay g.region .shape").nth(index)
    stroke = float(shape.evaluate("el => getComputedStyle(el).strokeWidth").removesuffix("px"))
    drawn = shape.bounding_box()
    v = region["value"]
    expected = {
        "x": image["x"] + v["x"] / 100 * image["width"] - stroke / 2,
        "y": image["y"] + v["y"] / 100 * image["height"] - stroke / 2,
        "width": v["width"] / 100 * image["width"] + stroke,
        "height": v["height"] / 100 * image["height"] + stroke,
    }
    for key, want in expected.items():
        assert abs(drawn[key] - want) <= 2, (key, drawn, expected)


def test_log_in_browse_and_see_the_boxes(browser_page, live_server, client, people, project):
    page = browser_page
    lead, annotator = people["lead"], people["annotator"]
    first = [box(10, 20, 30, 25), box(60, 30, 22, 28, "Zebra")]
    second = [box(12, 22, 28, 24), box(58, 28, 25, 30, "Zebra"), box(70, 75, 15, 10, "Giraffe")]
    predicted = {
        "model_version": "detector-v2",
        "score": 0.81,
        "result": [{**box(11, 21, 29, 26), "score": 0.93}],
    }
    r = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[
            {
                "data": {"image": png_data_url()},
                "annotations": [
                    {"result": first, "completed_by": lead.id},
                    {"result": second, "completed_by": annotator.id},
                ],
                "predictions": [predicted],
            },
            {"data": {"image": png_data_url(200, 200)}},
        ],
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["task_ids"][0]

    # log in through the form; the project list follows
    page.goto(f"{live_server}/")
    assert "/login" in page.url
    shot(page, "00-login")
    page.fill("input[name=email]", lead.email)
    page.fill("input[name=password]", "wrong-password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong email or password."
    shot(page, "01-login-wrong-password")
    page.fill("input[name=password]", lead.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")
    assert page.locator(".me .email").inner_text() == lead.email
    assert page.locator("table.list tbody tr").count() == 1
    assert page.locator("table.list tbody td").first.inner_text() == "Survey"
    shot(page, "02-projects")

    # the project page: the task table with thumbnails that loaded
    page.click("text=Survey")
    page.wait_for_url(f"{live_server}/projects/{project['id']}")
    assert page.locator("table.tasks tbody tr").count() == 2
    thumb = page.locator("td.thumb img").first
    thumb.wait_for()
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 400
    assert round(thumb.bounding_box()["width"]) == 96
    shot(page, "03-project")

    # the task page draws the first annotation's boxes where they belong
    page.click(f"a[href='/tasks/{task_id}'] >> nth=0")
    page.wait_for_selector("body[data-drawn=true]")
    regions = page.locator("#overlay g.region")
    assert regions.count() == len(first)
    for i, region in enumerate(first):
        assert_box_on_screen(page, i, region)
    assert page.locator("#task-image").bounding_box()["width"] > 400  # scaled up to fit
    shot(page, "04-task-first-annotation")

    # switching to the annotator's annotation redraws
    switch = page.locator(".source:has-text('annotator@example.com')")
    switch.click()
    assert switch.get_attribute("aria-pressed") == "true"
    assert regions.count() == len(second)
    for i, region in enumerate(second):
        assert_box_on_screen(page, i, region)
    labels = [regions.nth(i).get_attribute("data-label") for i in range(regions.count())]
    assert labels == ["Elephant", "Zebra", "Giraffe"]
    assert page.url.endswith("#" + switch.get_attribute("data-source"))
    shot(page, "05-task-second-annotation")

    page.click(".source.prediction")
    assert regions.count() == 1
    assert page.locator("#overlay text").text_content() == "Elephant 0.93"
    page.click(".source[data-source=all]")
    assert regions.count() == len(first) + len(second) + 1
    shot(page, "06-task-all")

    # a reload keeps the choice; a narrower window redraws at the new size
    page.reload()
    page.wait_for_selector("body[data-drawn=true]")
    assert regions.count() == len(first) + len(second) + 1
    page.click(".source:has-text('lead@example.com')")
    page.set_viewport_size({"width": 800, "height": 700})
    page.wait_for_timeout(100)
    for i, region in enumerate(first):
        assert_box_on_screen(page, i, region)
    shot(page, "07-task-narrow")

    page.goto(f"{live_server}/tasks/999999")
    assert page.locator("main h1").inner_text() == "Not found (404)"
    assert page.locator("main p").first.inner_text() == "Task 999999 not found."
    shot(page, "09-not-found")


def test_page_js_calls_the_api_with_the_csrf_header(
    browser_page, live_server, client, people, project
):
    page = browser_page
    lead = people["lead"]
    page.goto(f"{live_server}/login")
    page.fill("input[name=email]", lead.email)
    page.fill("input[name=password]", lead.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server}/")

    changed = page.evaluate(
        "id => assay.api('PATCH', `/api/projects/${id}`, {description: 'from the page'})",
        project["id"],
    )
    assert changed["description"] == "from the page"
    refused = page.evaluate(
        """id => fetch(`/api/projects/${id}`, {method: 'PATCH', body: '{}',
                      headers: {'Content-Type': 'application/json'}}).then(r => r.status)""",
        project["id"],
    )
    assert refused == 403  # the cookie alone is not enough for an unsafe method
    error = page.evaluate(
        "() => assay.api('GET', '/api/projects/999999').catch(e => [e.status, e.message])"
    )
    assert error == [404, "Project 999999 not found."]

    page.click("text=Log out")
    page.wait_for_url(f"{live_server}/login")
    page.goto(f"{live_server}/projects/{project['id']}")
    assert page.url == f"{live_server}/login?next=%2Fprojects%2F{project['id']}"


SHAPES_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="box" toName="image"><Label value="Car"/></RectangleLabels>
  <PolygonLabels name="outline" toName="image"><Label value="Road"/></PolygonLabels>
</View>"""


def test_rotated_boxes_and_polygons_are_drawn_in_place(browser_page, live_server, client, people):
    page = browser_page
    lead = people["lead"]
    r = client.post(
        "/api/projects",
        json={"title": "Shapes", "label_config": SHAPES_CONFIG},
        headers=lead.headers,
    )
    project_id = r.json()["id"]
    rotated = {"x": 40, "y": 20, "width": 30, "height": 20, "rotation": 30}
    points = [[10, 60], [35, 55], [45, 90], [5, 95]]
    result = [
        {"from_name": "box", "to_name": "image", "type": "rectanglelabels",
         "value": {**rotated, "rectanglelabels": ["Car"]}},
        {"from_name": "outline", "to_name": "image", "type": "polygonlabels",
         "value": {"points": points, "polygonlabels": ["Road"]}},
    ]  # fmt: skip
    r = client.post(
        f"/api/projects/{project_id}/import?return_task_ids=true",
        json=[{"data": {"image": png_data_url(400, 200)}, "annotations": [{"result": result}]}],
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["task_ids"][0]

    page.goto(f"{live_server}/tasks/{task_id}")
    page.fill("input[name=email]", lead.email)
    page.fill("input[name=password]", lead.password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: url.split("#")[0] == f"{live_server}/tasks/{task_id}")
    page.wait_for_selector("body[data-drawn=true]")
    image = page.locator("#task-image").bounding_box()
    shapes = page.locator("#overlay g.region .shape")
    assert shapes.count() == 2

    def extent(xs: list[float], ys: list[float]) -> dict[str, float]:
        return {"x": min(xs), "y": min(ys), "width": max(xs) - min(xs), "height": max(ys) - min(ys)}

    # rotation is in pixel space, around the top-left corner, clockwise on screen
    w, h = image["width"], image["height"]
    x0, y0 = rotated["x"] / 100 * w, rotated["y"] / 100 * h
    bw, bh = rotated["width"] / 100 * w, rotated["height"] / 100 * h
    cos, sin = math.cos(math.radians(30)), math.sin(math.radians(30))
    corners = [(x0 + cx * cos - cy * sin, y0 + cx * sin + cy * cos)
               for cx, cy in ((0, 0), (bw, 0), (bw, bh), (0, bh))]  # fmt: skip
    expected_box = extent(
        [image["x"] + c[0] for c in corners], [image["y"] + c[1] for c in corners]
    )
    expected_polygon = extent(
        [image["x"] + p[0] / 100 * w for p in points], [image["y"] + p[1] / 100 * h for p in points]
    )
    for shape, expected in ((shapes.nth(0), expected_box), (shapes.nth(1), expected_polygon)):
        drawn = shape.bounding_box()
        # the outline (2 px, round joins) is centred on the edges
        for key in ("x", "y"):
            assert abs(drawn[key] - expected[key]) <= 2, (key, drawn, expected)
        for key in ("width", "height"):
            assert abs(drawn[key] - expected[key]) <= 3, (key, drawn, expected)
    shot(page, "08-task-rotated-and-polygon")


# -- ground truth: the task page's stars and the data manager ----------------------------------


def sign_in(page, live_server: str, person, path: str) -> None:
    """Open `path`, log in on the form it redirects to, and come back to `path`."""
    page.goto(f"{live_server}{path}")
    page.fill("input[name=email]", person.email)
    page.fill("input[name=password]", person.password)
    page.click("button[type=submit]")
    # the task page may already have put the shown annotation in the #fragment
    page.wait_for_url(lambda url: url.split("#")[0] == f"{live_server}{path}")


def import_items(client, lead, project_id: int, items: list) -> list[int]:
    r = client.post(
        f"/api/projects/{project_id}/import?return_task_ids=true", json=items, headers=lead.headers
    )
    assert r.status_code == 201, r.text
    return r.json()["task_ids"]


def gt_flags(client, lead, task_id: int) -> dict[int, bool]:
    r = client.get(f"/api/tasks/{task_id}/annotations", headers=lead.headers)
    return {a["id"]: a["ground_truth"] for a in r.json()}


def said(page, text: str) -> None:
    """Wait until the data manager's message reads `text` (an action's outcome or error)."""
    from playwright.sync_api import expect

    expect(page.locator("#dm-message")).to_have_text(text)


def confirm_assign(page, selected: str) -> None:
    """Run the action the confirmation dialog asks about, after it named the selection's size."""
    dialog = page.locator("#dm-confirm-dialog")
    assert f"On each of the {selected} that has no ground truth yet" in dialog.inner_text()
    page.click("#dm-confirm-run")


def gt_column(page) -> dict[int, str]:
    """Task id -> the Ground truth cell's text, for the rows on screen."""
    return {
        int(row.get_attribute("data-task")): " ".join(row.locator("td.gt").inner_text().split())
        for row in page.locator("table.tasks tbody tr").all()
    }


def test_lead_stars_an_annotation_on_the_task_page(
    browser_page, live_server, client, people, project
):
    page = browser_page
    lead = people["lead"]
    [task_id] = import_items(
        client,
        lead,
        project["id"],
        [
            {
                "data": {"image": png_data_url()},
                "annotations": [
                    {"result": [box(10, 20, 30, 25)], "completed_by": people["annotator"].id},
                    {"result": [box(12, 22, 28, 24)], "completed_by": people["annotator2"].id},
                ],
            }
        ],
    )
    first, second = gt_flags(client, lead, task_id)
    sign_in(page, live_server, lead, f"/tasks/{task_id}")
    page.wait_for_selector("body[data-drawn=true]")
    star_first = page.locator(f"button.star[data-annotation='{first}']")
    star_second = page.locator(f"button.star[data-annotation='{second}']")
    assert star_first.get_attribute("aria-pressed") == "false"
    assert star_first.inner_text() == "☆"
    assert star_first.get_attribute("aria-label") == (
        f"Ground truth: annotation #{first} by annotator@example.com"
    )

    star_second.click()
    page.wait_for_selector(f"button.star[data-annotation='{second}'][aria-pressed=true]")
    assert page.locator("#task-message").inner_text() == (
        f"Annotation #{second} is now the ground truth."
    )
    assert gt_flags(client, lead, task_id) == {first: False, second: True}
    assert page.locator(f"[data-gt-badge='{second}']").is_visible()
    shot(page, "10-task-star-set")

    # starring the other one moves the star (one GT per task), with the keyboard this time
    star_first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(f"button.star[data-annotation='{first}'][aria-pressed=true]")
    assert star_second.get_attribute("aria-pressed") == "false" and star_second.inner_text() == "☆"
    assert gt_flags(client, lead, task_id) == {first: True, second: False}
    assert not page.locator(f"[data-gt-badge='{second}']").is_visible()

    page.reload()
    page.wait_for_selector("body[data-drawn=true]")
    assert star_first.get_attribute("aria-pressed") == "true" and star_first.inner_text() == "★"
    assert star_second.get_attribute("aria-pressed") == "false"
    # the page opens on the GT annotation's regions
    assert (
        page.locator(f".source[data-source='annotation-{first}']").get_attribute("aria-pressed")
        == "true"
    )
    shot(page, "11-task-star-after-reload")

    # unstarring keeps the annotation
    star_first.click()
    page.wait_for_selector(f"button.star[data-annotation='{first}'][aria-pressed=false]")
    assert gt_flags(client, lead, task_id) == {first: False, second: False}

    # an error from the API is shown, and nothing changes on screen
    r = client.delete(f"/api/annotations/{second}", headers=lead.headers)
    assert r.status_code == 204
    star_second.click()
    message = page.locator("#task-message.error")
    message.wait_for()
    assert message.inner_text() == (
        f"The ground truth did not change: Annotation {second} not found."
    )
    assert star_second.get_attribute("aria-pressed") == "false"
    shot(page, "12-task-star-error")

    # a reviewer sees which annotation is GT, but gets no button
    client.patch(f"/api/annotations/{first}", json={"ground_truth": True}, headers=lead.headers)
    page.click("text=Log out")
    page.wait_for_url(f"{live_server}/login")
    sign_in(page, live_server, people["reviewer"], f"/tasks/{task_id}")
    assert page.locator("button.star").count() == 0
    assert page.locator("span.star.on").count() == 1


def test_bulk_actions_from_the_data_manager(browser_page, live_server, client, people, project):
    page = browser_page
    lead, a1, a2 = people["lead"], people["annotator"].id, people["annotator2"].id

    def ann(author: int) -> dict:
        return {"result": [box(10, 20, 30, 25)], "completed_by": author}

    image = png_data_url(120, 80)
    t0, t1, t2, t3 = import_items(
        client,
        lead,
        project["id"],
        [
            {"data": {"image": image}, "annotations": [ann(a1), ann(a2)]},
            {"data": {"image": image}, "annotations": [ann(a2)]},
            {"data": {"image": image}},
            {"data": {"image": image}, "annotations": [ann(a1)]},
        ],
    )
    sign_in(page, live_server, lead, f"/projects/{project['id']}")
    page.wait_for_selector("body[data-dm-ready=true]")
    actions = page.locator("#dm-actions")
    assert actions.is_disabled()
    assert page.locator("#dm-selected").inner_text() == "No tasks selected"

    # tick three tasks by their labels; the counter follows
    for task_id in (t0, t1, t2):
        page.get_by_label(f"Select task #{task_id}").check()
    assert page.locator("#dm-selected").inner_text() == "3 tasks selected"
    assert page.locator("#dm-page-all").evaluate("el => el.indeterminate") is True
    assert actions.is_enabled()
    actions.click()
    assert actions.get_attribute("aria-expanded") == "true"
    shot(page, "13-dm-actions-menu")
    page.get_by_role("button", name="Assign ground truths (earliest annotation)").click()
    confirm_assign(page, "3 selected tasks")
    message = page.locator("#dm-message")
    said(page, "Assign ground truths: 2 changed, 0 unchanged, 1 skipped (of 3 selected tasks).")
    assert gt_column(page) == {
        t0: "★ annotator@example.com",
        t1: "★ annotator2@example.com",
        t2: "–",
        t3: "–",
    }
    assert page.locator("#dm-counts dd").all_inner_texts()[:2] == ["4", "2"]  # tasks, with GT
    assert page.locator("input.dm-pick:checked").count() == 0  # the selection is cleared
    assert page.locator("#dm-selected").inner_text() == "No tasks selected"
    shot(page, "14-dm-after-assign")

    # set from an annotator: a dialog asks which one
    page.get_by_label(f"Select task #{t0}").check()
    page.get_by_label(f"Select task #{t3}").check()
    actions.click()
    page.get_by_role("button", name="Set ground truths from annotator…").click()
    dialog = page.locator("#dm-annotator-dialog")
    assert dialog.is_visible()
    options = dialog.locator("option").all_inner_texts()
    assert options == [
        "annotator@example.com · annotated 2 tasks",
        "annotator2@example.com · annotated 2 tasks",
    ]  # how many tasks each covers
    dialog.get_by_label("Annotator").select_option(
        label="annotator2@example.com · annotated 2 tasks"
    )
    shot(page, "15-dm-set-from-annotator-dialog")
    dialog.get_by_role("button", name="Set ground truths").click()
    said(
        page,
        "Set ground truths from annotator2@example.com: "
        "1 changed, 0 unchanged, 1 skipped (of 2 selected tasks).",
    )
    assert gt_column(page)[t0] == "★ annotator2@example.com" and gt_column(page)[t3] == "–"

    # delete, with the keyboard only: Space ticks, ArrowDown opens the menu, Enter runs
    page.get_by_label(f"Select task #{t1}").focus()
    page.keyboard.press("Space")
    actions.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")  # wraps round to the last item: delete
    assert page.evaluate("document.activeElement.dataset.action") == "delete_ground_truths"
    page.keyboard.press("Enter")
    confirm = page.locator("#dm-delete-dialog")
    assert confirm.is_visible()
    assert "cleared on 1 selected task" in confirm.inner_text()
    shot(page, "16-dm-delete-confirm")
    page.keyboard.press("Escape")  # changed my mind: nothing happens
    assert not confirm.is_visible()
    assert list(gt_flags(client, lead, t1).values()) == [True]
    actions.click()
    page.get_by_role("button", name="Delete ground truths (annotations stay)…").click()
    confirm.get_by_role("button", name="Delete ground truths").click()
    said(page, "Delete ground truths: 1 changed, 0 unchanged, 0 skipped (of 1 selected task).")
    assert gt_column(page)[t1] == "–"
    assert list(gt_flags(client, lead, t1).values()) == [False]  # the annotation stays

    # an API error is shown as it is: a selected task deleted meanwhile
    page.get_by_label(f"Select task #{t3}").check()
    assert client.delete(f"/api/tasks/{t3}", headers=lead.headers).status_code == 204
    actions.click()
    page.get_by_role("button", name="Assign ground truths (earliest annotation)").click()
    confirm_assign(page, "1 selected task")
    said(
        page,
        "Assign ground truths failed: selectedItems.included: "
        f"not tasks of project {project['id']}: {t3}",
    )
    assert "error" in (message.get_attribute("class") or "")
    assert page.locator("#dm-selected").inner_text() == "1 task selected"  # kept for a retry
    shot(page, "17-dm-error")


def test_select_all_in_project_with_exclusions(browser_page, live_server, client, people, project):
    page = browser_page
    lead = people["lead"]
    ann = {"result": [box(10, 20, 30, 25)], "completed_by": people["annotator"].id}
    ids = import_items(
        client,
        lead,
        project["id"],
        [{"data": {"image": png_data_url(120, 80)}, "annotations": [ann]}] * 7,
    )
    posted: list[dict] = []
    page.on(
        "request",
        lambda req: posted.append(req.post_data_json) if "/api/dm/actions" in req.url else None,
    )
    base = f"/projects/{project['id']}"
    sign_in(page, live_server, lead, f"{base}?page_size=3")
    page.wait_for_selector("body[data-dm-ready=true]")

    banner = page.locator("#dm-banner")
    assert not banner.is_visible()
    page.get_by_label("Select all tasks on this page").check()
    assert page.locator("input.dm-pick:checked").count() == 3
    assert page.locator("#dm-banner-text").inner_text() == "All 3 tasks on this page are selected."
    page.get_by_role("button", name="Select all 7 tasks in the project").click()
    assert page.locator("#dm-banner-text").inner_text() == (
        "All 7 tasks in the project are selected."
    )
    assert page.locator("#dm-selected").inner_text() == "7 tasks selected"
    shot(page, "18-dm-select-all-in-project")

    # unticking rows excludes them, on this page and on the next
    page.get_by_label(f"Select task #{ids[1]}").uncheck()
    page.click("a[rel=next]")
    page.wait_for_url(f"{live_server}{base}?page_size=3&page=2")
    page.wait_for_selector("body[data-dm-ready=true]")
    assert page.locator("input.dm-pick:checked").count() == 3  # the selection survived paging
    page.get_by_label(f"Select task #{ids[4]}").uncheck()
    assert page.locator("#dm-banner-text").inner_text() == (
        "All 7 tasks in the project are selected, except 2."
    )
    assert page.locator("#dm-selected").inner_text() == "5 tasks selected"
    assert page.locator("#dm-page-all").evaluate("el => el.indeterminate") is True
    shot(page, "19-dm-select-all-with-exclusions")
    page.click("#dm-actions")
    page.get_by_role("button", name="Assign ground truths (earliest annotation)").click()
    confirm_assign(page, "5 selected tasks")
    said(page, "Assign ground truths: 5 changed, 0 unchanged, 0 skipped (of 5 selected tasks).")
    assert posted[-1] == {"selectedItems": {"all": True, "excluded": [ids[1], ids[4]]}}
    r = client.get(
        f"/api/tasks?project={project['id']}&ground_truth=false&fields=task_only",
        headers=lead.headers,
    )
    assert [t["id"] for t in r.json()["tasks"]] == [ids[1], ids[4]]
    assert page.locator("#dm-counts dd").nth(1).inner_text() == "5"  # With GT

    # under the "No GT" filter, "all" means the filtered tasks, sent by id
    page.get_by_role("link", name="No GT").click()
    page.wait_for_url(f"{live_server}{base}?page_size=3&ground_truth=false")
    page.wait_for_selector("body[data-dm-ready=true]")
    assert page.locator("#dm-selected").inner_text() == "No tasks selected"
    page.goto(f"{live_server}{base}?page_size=1&ground_truth=false")
    page.get_by_label("Select all tasks on this page").check()
    page.get_by_role("button", name="Select all 2 tasks without ground truth").click()
    page.click("a[rel=next]")  # run it from page 2, which will no longer exist afterwards
    page.wait_for_url(f"{live_server}{base}?page_size=1&ground_truth=false&page=2")
    page.wait_for_selector("body[data-dm-ready=true]")
    page.click("#dm-actions")
    page.get_by_role("button", name="Assign ground truths (earliest annotation)").click()
    confirm_assign(page, "2 selected tasks")
    said(page, "Assign ground truths: 2 changed, 0 unchanged, 0 skipped (of 2 selected tasks).")
    assert posted[-1] == {"selectedItems": {"all": False, "included": [ids[1], ids[4]]}}
    # the filter is now empty; the table says so and the URL went back to page 1
    assert "No tasks without ground truth." in page.locator("#dm-table").inner_text()
    assert page.url == f"{live_server}{base}?page_size=1&ground_truth=false"
    shot(page, "20-dm-filter-emptied")
