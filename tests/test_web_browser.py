"""The web pages in a real browser: Debian's Chromium driven by playwright, never a downloaded one.

Screenshots land in test-output/screenshots/ (git-ignored) for a human to look at.
"""

from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import pytest

from conftest import box

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "test-output" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="needs Debian's Chromium: apt-get install chromium"
    ),
]


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
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        # network errors the tests provoke on purpose (403, 404) log "Failed to load resource"
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and not msg.text.startswith("Failed to load resource")
                else None
            ),
        )
        yield page
        browser.close()
    assert errors == [], f"the pages logged errors: {errors}"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


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
    page.wait_for_url(f"{live_server}/tasks/{task_id}")
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
