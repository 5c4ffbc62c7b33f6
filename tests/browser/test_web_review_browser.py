"""The review stream and the dashboard in a real browser: Debian's Chromium driven by playwright.

A reviewer accepts with A, rejects with a comment, fixes & accepts by moving a box in the
editor, and reaches the finished state; the tests read the verdicts and the fixed revision back
through the API. The dashboard draws its plotly charts. Screenshots land in
test-output/screenshots/ (git-ignored).
"""

from __future__ import annotations

import pytest

import chromium
from builders import box, import_tasks, survey_image
from chromium import drag, image_rect, percent_of, screen_point, sign_in

pytestmark = chromium.marks

A1_BOXES = [box(10, 15, 20, 20, "Elephant"), box(60, 50, 15, 20, "Zebra")]
A2_BOXES = [box(11, 16, 19, 19, "Elephant"), box(35, 70, 10, 15, "Giraffe")]
MODEL = {"model_version": "det-v1", "score": 0.8, "result": [box(40, 40, 10, 10, "Zebra")]}


@pytest.fixture
def browser_page():
    with chromium.new_page(1400, 860) as page:
        yield page


@pytest.fixture
def media(settings, project):
    root = settings.resolved_media_root / f"project-{project['id']}"
    root.mkdir(parents=True, exist_ok=True)
    for i in range(3):
        survey_image(root / f"rv/t{i}.png", 800, 600, seed=i)
    return root


def _tasks(client, people, project, gt: bool) -> list[int]:
    """t0: annotator, annotator2 (and the lead's GT when `gt`), and a model; t1, t2: annotator
    only."""
    a1, a2 = people["annotator"].id, people["annotator2"].id
    truth = [box(10, 15, 20, 20, "Elephant"), box(40, 40, 10, 10, "Zebra")]
    gt_annotation = [{"result": truth, "completed_by": people["lead"].id, "ground_truth": True}]
    items = [
        {
            "data": {"image": f"/data/media/project-{project['id']}/rv/t0.png"},
            "annotations": [
                {"result": A1_BOXES, "completed_by": a1},
                {"result": A2_BOXES, "completed_by": a2},
                *(gt_annotation if gt else []),
            ],
            "predictions": [MODEL],
        },
        *(
            {
                "data": {"image": f"/data/media/project-{project['id']}/rv/t{i}.png"},
                "annotations": [{"result": A1_BOXES, "completed_by": a1}],
            }
            for i in (1, 2)
        ),
    ]
    return import_tasks(client, people["lead"], project["id"], items)


def wait_annotation(page, not_id: int | None = None) -> int:
    """Wait until the page shows an annotation (another than `not_id`); returns its id."""
    page.wait_for_function(
        """(old) => {
            const rv = document.getElementById("rv");
            return rv && rv.dataset.ready === "true" && rv.dataset.busy === "false"
                && rv.dataset.annotation !== String(old);
        }""",
        arg=not_id,
    )
    return int(page.get_attribute("#rv", "data-annotation"))


def annotation(client, person, ann_id: int) -> dict:
    r = client.get(f"/api/annotations/{ann_id}", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_reviewer_accepts_rejects_with_a_comment_and_fixes_a_box(
    browser_page, live_server, client, people, project, media
):
    page, reviewer = browser_page, people["reviewer"]
    t0, t1, t2 = _tasks(client, people, project, gt=False)
    sign_in(page, live_server, reviewer, f"/projects/{project['id']}")
    page.click("#review-link")
    page.wait_for_url(f"{live_server}/projects/{project['id']}/review")
    first = wait_annotation(page)
    assert annotation(client, reviewer, first)["task"] == t0
    assert page.inner_text("#rv-progress-text") == "0 of 4 reviewed"
    assert page.locator("#gt-left g.gt-box").count() == 2
    assert "annotator@example.com" in page.inner_text("#rv-title")

    # tabs: the annotation itself, the other annotator, the model; 1 shows annotator2 on the right
    tabs = page.locator("#rv-tabs button").all_inner_texts()
    assert tabs[0] == "This annotation only" and len(tabs) == 3
    assert page.locator("#gt-right").is_hidden()
    page.keyboard.press("1")
    assert page.locator("#gt-right").is_visible()
    assert "annotator2@example.com" in page.inner_text("#rv-compare-title")
    assert page.locator("#gt-right g.gt-box").count() == 2
    chromium.shot(page, "review-compare")

    # A accepts and loads the next annotation (annotator2's on the same task)
    page.keyboard.press("a")
    second = wait_annotation(page, not_id=first)
    assert annotation(client, reviewer, first)["review_status"] == "accepted"
    assert page.inner_text("#rv-progress-text") == "1 of 4 reviewed"
    # the tab chosen before (annotator2) is the one under review now: nothing on the right
    assert page.locator("#gt-right").is_hidden()
    page.click("#rv-tabs button[data-key='model:det-v1']")
    assert page.inner_text("#rv-compare-title") == "Model det-v1"

    # R asks for a reason and a comment; "other" with an empty comment is not sent
    page.keyboard.press("r")
    assert page.locator("#rv-reject-form").is_visible()
    page.select_option("#rv-reason", "other")
    page.click("#rv-reject-send")
    assert page.locator("#rv-reject-form").is_visible()
    assert annotation(client, reviewer, second)["review_status"] == "none"
    page.fill("#rv-comment", "The giraffe is a rock.")
    page.click("#rv-reject-send")
    third = wait_annotation(page, not_id=second)
    assert annotation(client, reviewer, second)["review_status"] == "rejected"
    reviews = client.get(f"/api/annotations/{second}/reviews", headers=reviewer.headers).json()
    assert [(r["action"], r["reason"], r["comment"]) for r in reviews] == [
        ("reject", "other", "The giraffe is a rock.")
    ]

    # F: select the zebra, drag it by (+40, +30) screen pixels, save with Ctrl+Enter
    assert annotation(client, reviewer, third)["task"] == t1
    page.keyboard.press("f")
    assert page.get_attribute("#rv", "data-mode") == "fix"
    rect = image_rect(page)
    centre = screen_point(rect, 67.5, 60)
    page.mouse.click(*centre)
    assert page.locator("#gt-left g.gt-box.selected").get_attribute("data-label") == "Zebra"
    drag(page, centre, (centre[0] + 40, centre[1] + 30))
    corner = screen_point(rect, 60, 50)  # the zebra's top-left corner before the move
    moved_x, moved_y = percent_of(rect, corner[0] + 40, corner[1] + 30)
    chromium.shot(page, "review-fixing")
    page.keyboard.press("Control+Enter")
    fourth = wait_annotation(page, not_id=third)
    fixed = annotation(client, reviewer, third)
    assert fixed["review_status"] == "fixed" and fixed["revision"] == 2
    zebra = next(r for r in fixed["result"] if r["value"]["rectanglelabels"] == ["Zebra"])
    assert abs(zebra["value"]["x"] - moved_x) < 0.5 and abs(zebra["value"]["y"] - moved_y) < 0.5
    assert (zebra["value"]["width"], zebra["value"]["height"]) == pytest.approx((15, 20), abs=0.01)
    elephant = next(r for r in fixed["result"] if r["value"]["rectanglelabels"] == ["Elephant"])
    assert elephant["value"] == A1_BOXES[0]["value"]  # untouched boxes keep their numbers

    # the last one: accept with the button; then the finished state
    assert annotation(client, reviewer, fourth)["task"] == t2
    page.click("#rv-accept")
    page.wait_for_function("() => document.getElementById('rv').dataset.ready === 'finished'")
    assert page.locator("#rv-finished").is_visible()
    assert page.inner_text("#rv-progress-text") == "4 of 4 reviewed"
    assert annotation(client, reviewer, fourth)["review_status"] == "accepted"
    chromium.shot(page, "review-finished")

    # U takes the last verdict back and offers that annotation again
    page.keyboard.press("u")
    assert wait_annotation(page) == fourth
    assert annotation(client, reviewer, fourth)["review_status"] == "none"
    assert page.inner_text("#rv-progress-text") == "3 of 4 reviewed"
    assert page.locator("#rv-undo").is_disabled()  # one step back only


def test_dashboard_draws_its_charts_from_the_bundled_plotly(
    browser_page, live_server, client, people, project, media
):
    page, lead = browser_page, people["lead"]
    _tasks(client, people, project, gt=True)
    data = client.get(f"/api/projects/{project['id']}/dashboard", headers=lead.headers).json()
    assert len(data["agreement"]["annotators"]) == 2 and data["models"]
    sign_in(page, live_server, lead, f"/projects/{project['id']}")
    page.click("#dashboard-link")
    page.wait_for_url(f"{live_server}/projects/{project['id']}/dashboard")
    page.wait_for_function("() => document.getElementById('dash').dataset.charts === 'ready'")
    for chart in ("agreement", "weeks", "confusion", "models", "drift"):
        node = page.locator(f"#chart-{chart}.js-plotly-plot")
        assert node.count() == 1, chart
        assert node.locator("svg.main-svg").count() >= 1, chart
    assert page.locator("#chart-agreement .heatmaplayer image, #chart-agreement .hm").count() >= 1
    assert page.locator("#chart-models .bars path").count() >= 4
    assert page.locator("#dash-annotator-table tbody tr").count() == 2
    assert page.locator("#dash-drift-table tbody tr").count() == 1  # one week of det-v1
    chromium.shot(page, "dashboard", full_page=True)


def test_lead_assigns_a_reviewer_and_reviews_the_selected_tasks(
    browser_page, live_server, client, people, project, media
):
    page, lead = browser_page, people["lead"]
    t0, t1, t2 = _tasks(client, people, project, gt=False)
    sign_in(page, live_server, lead, f"/projects/{project['id']}")
    page.wait_for_selector("body[data-dm-ready=true]")
    assert page.inner_text("#dm-review") == "Review All Tasks"
    for task_id in (t1, t2):
        page.get_by_label(f"Select task #{task_id}").check()
    assert page.inner_text("#dm-review") == "Review 2 selected"

    # Actions → Assign reviewers…: tick the reviewer in the dialog
    page.click("#dm-actions")
    page.get_by_role("button", name="Assign reviewers…").click()
    page.locator("#dm-reviewers-dialog").get_by_label("reviewer@example.com").check()
    page.get_by_role("button", name="Assign reviewers", exact=True).click()
    page.wait_for_function(
        "() => document.getElementById('dm-message').textContent.startsWith('Assign reviewer@')"
    )
    assert "1 changed" not in page.inner_text("#dm-message")  # both tasks changed
    assert "2 changed" in page.inner_text("#dm-message")
    cells = page.locator("tbody td.reviewers").all_inner_texts()
    assert cells == ["–", "reviewer@example.com", "reviewer@example.com"]
    for task_id in (t1, t2):
        r = client.get(f"/api/tasks/{task_id}/reviewers", headers=lead.headers).json()
        assert r["assigned"] == [people["reviewer"].id]

    # the selection is cleared by the action: pick two again and review just those
    for task_id in (t0, t2):
        page.get_by_label(f"Select task #{task_id}").check()
    page.click("#dm-review")
    page.wait_for_url(f"{live_server}/projects/{project['id']}/review?tasks={t0},{t2}")
    wait_annotation(page)
    assert page.inner_text("#rv-progress-text") == "0 of 3 reviewed"
