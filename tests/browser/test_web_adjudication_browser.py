"""Consensus and adjudication in a real browser: Debian's Chromium driven by playwright.

A lead opens the adjudication queue from the project page, relabels the box whose label vote
tied and moves another in the editor, saves it as ground truth with Ctrl+Enter and reaches
the finished state; the test reads the GT annotation and the consensus status back through
the API. A second test runs a merge from the project page's Consensus… dialog. Screenshots
land in test-output/screenshots/ (git-ignored).
"""

from __future__ import annotations

import pytest

import chromium
from builders import ELEPHANT, GIRAFFE, ZEBRA, box, import_tasks, merge, survey_image
from chromium import drag, image_rect, percent_of, screen_point, sign_in

pytestmark = chromium.marks


@pytest.fixture
def browser_page():
    with chromium.new_page(1400, 860) as page:
        yield page


@pytest.fixture
def tasks(client, people, project, settings) -> list[int]:
    """t0: the annotators tie on one box's label and agree on a giraffe; t1: they agree."""
    root = settings.resolved_media_root / f"project-{project['id']}"
    for i in range(2):
        survey_image(root / f"adj/t{i}.png", 800, 600, seed=i)
    a1, a2 = people["annotator"].id, people["annotator2"].id
    items = [
        {
            "data": {"image": f"/data/media/project-{project['id']}/adj/t0.png"},
            "annotations": [
                {"result": [ZEBRA, GIRAFFE], "completed_by": a1},
                {"result": [ELEPHANT, GIRAFFE], "completed_by": a2},
            ],
        },
        {
            "data": {"image": f"/data/media/project-{project['id']}/adj/t1.png"},
            "annotations": [
                {"result": [GIRAFFE], "completed_by": a1},
                {"result": [box(61, 50, 15, 20, "Giraffe")], "completed_by": a2},
            ],
        },
    ]
    return import_tasks(client, people["lead"], project["id"], items)


def labels(page, pane: str) -> list[str]:
    return sorted(
        page.locator(f"{pane} g.gt-box").evaluate_all("gs => gs.map(g => g.dataset.label)")
    )


def test_lead_relabels_the_tied_box_moves_another_and_saves_it_as_gt(
    browser_page, live_server, client, people, project, tasks
):
    page, lead = browser_page, people["lead"]
    t0, _ = tasks
    result = merge(client, lead, project["id"])
    assert (result["adjudicate"], result["merged"]) == (1, 1)
    consensus = client.get(f"/api/tasks/{t0}/consensus", headers=lead.headers).json()
    assert consensus["tied"] and len(consensus["annotation"]["result"]) == 2

    # the project header links the queue with its size
    sign_in(page, live_server, lead, f"/projects/{project['id']}")
    assert page.inner_text("#adjudication-link") == "Adjudication (1 waiting) →"
    page.click("#adjudication-link")
    page.wait_for_url(f"{live_server}/projects/{project['id']}/adjudication")
    page.wait_for_function(
        "() => document.getElementById('adj').dataset.ready === 'true'"
        " && document.getElementById('adj').dataset.busy === 'false'"
    )
    assert page.get_attribute("#adj", "data-task") == str(t0)
    assert page.inner_text("#adj-remaining") == "1 waiting"
    assert page.locator("#adj-tied").is_visible()
    assert f"consensus support {round(consensus['agreement'] * 100)} %" in page.inner_text(
        "#adj-agreement"
    )
    # the editor starts from the consensus boxes
    assert page.input_value("#adj-start-from") == "consensus"
    assert page.locator("#gt-left g.gt-box").count() == 2
    tied_label = next(
        r["value"]["rectanglelabels"][0]
        for r in consensus["annotation"]["result"]
        if r["value"]["rectanglelabels"][0] != "Giraffe"
    )
    assert labels(page, "#gt-left") == sorted(["Giraffe", tied_label])

    # tabs: the edited result alone, the consensus, each annotator; 3 shows annotator2's boxes
    tabs = page.locator("#adj-tabs button").all_inner_texts()
    assert tabs[0] == "Edited result only" and len(tabs) == 4
    assert tabs[1].startswith("1. Consensus")
    page.keyboard.press("3")
    assert page.locator("#gt-right").is_visible()
    assert page.inner_text("#adj-compare-title") == "annotator2@example.com"
    assert labels(page, "#gt-right") == ["Elephant", "Giraffe"]
    chromium.shot(page, "adjudication-compare")

    # relabel the tied box as Zebra with L and the picker
    rect = image_rect(page)
    page.mouse.click(*screen_point(rect, 20, 25))
    assert page.locator("#gt-left g.gt-box.selected").count() == 1
    page.keyboard.press("l")
    page.wait_for_selector("#gt-picker:not([hidden])")
    page.keyboard.type("Zeb")
    page.keyboard.press("Enter")
    assert labels(page, "#gt-left") == ["Giraffe", "Zebra"]

    # move the giraffe by (+40, +30) screen pixels
    centre = screen_point(rect, 67.5, 60)
    page.mouse.click(*centre)
    assert page.locator("#gt-left g.gt-box.selected").get_attribute("data-label") == "Giraffe"
    drag(page, centre, (centre[0] + 40, centre[1] + 30))
    corner = screen_point(rect, 60, 50)
    moved_x, moved_y = percent_of(rect, corner[0] + 40, corner[1] + 30)
    chromium.shot(page, "adjudication-edited")

    # Ctrl+Enter saves as GT; the queue is empty then
    page.keyboard.press("Control+Enter")
    page.wait_for_function("() => document.getElementById('adj').dataset.ready === 'finished'")
    assert page.locator("#adj-finished").is_visible()
    assert page.inner_text("#adj-remaining") == "0 waiting"
    chromium.shot(page, "adjudication-finished")

    after = client.get(f"/api/tasks/{t0}/consensus", headers=lead.headers).json()
    assert after["status"] == "adjudicated" and after["adjudicated_by"] == lead.id
    anns = client.get(f"/api/tasks/{t0}/annotations", headers=lead.headers).json()
    [gt] = [a for a in anns if a.get("ground_truth")]
    assert gt["completed_by"] == lead.id
    by_label = {r["value"]["rectanglelabels"][0]: r["value"] for r in gt["result"]}
    assert sorted(by_label) == ["Giraffe", "Zebra"]
    giraffe = by_label["Giraffe"]
    assert abs(giraffe["x"] - moved_x) < 0.5 and abs(giraffe["y"] - moved_y) < 0.5
    assert (giraffe["width"], giraffe["height"]) == pytest.approx((15, 20), abs=0.01)
    tied_box = next(r["value"] for r in consensus["annotation"]["result"]
                    if r["value"]["rectanglelabels"][0] == tied_label)  # fmt: skip
    assert by_label["Zebra"]["x"] == pytest.approx(tied_box["x"])  # relabelled, not moved


def test_lead_merges_the_selected_task_from_the_consensus_dialog(
    browser_page, live_server, client, people, project, tasks
):
    page, lead = browser_page, people["lead"]
    t0, t1 = tasks
    sign_in(page, live_server, lead, f"/projects/{project['id']}")
    page.wait_for_selector("body[data-dm-ready=true]")
    assert page.inner_text("#adjudication-link") == "Adjudication (0 waiting) →"
    page.get_by_label(f"Select task #{t0}").check()
    page.click("#dm-consensus")
    dialog = page.locator("#dm-consensus-dialog")
    assert dialog.is_visible()
    assert page.is_checked("#dm-consensus-selected")
    assert page.inner_text("#dm-consensus-selected-text") == "The 1 selected task"
    assert page.is_disabled("input[name=auto_accept_at]")
    page.fill("input[name=iou_threshold]", "0.4")
    # before merging, each weighting says how many tasks it would send to adjudication
    page.wait_for_function(
        "() => document.getElementById('dm-consensus-dialog').dataset.preview === 'done'"
        " && document.querySelector('option[value=dawid_skene]').textContent.includes('(1 ')"
    )
    option = page.inner_text("select[name=weighting] option[value=dawid_skene]")
    assert option.endswith("(1 to adjudication)"), option
    assert "consensus support under 0.5" in page.inner_text("#dm-consensus-preview")
    page.select_option("select[name=weighting]", "dawid_skene")
    chromium.shot(page, "consensus-dialog")
    page.click("#dm-consensus-merge")
    page.wait_for_function(
        "() => document.getElementById('dm-consensus-dialog').dataset.state === 'done'"
    )
    status = page.inner_text("#dm-consensus-status")
    assert status.startswith("Done. 1 task: 0 merged, 1 waiting for adjudication"), status
    assert page.inner_text("#dm-consensus-adjudicate") == "Adjudicate the 1 waiting task →"
    page.wait_for_function(
        "() => document.getElementById('adjudication-waiting').textContent === '1'"
    )
    chromium.shot(page, "consensus-dialog-done")
    # only the selected task was merged, with the dialog's settings
    settings = client.get(f"/api/tasks/{t0}/consensus", headers=lead.headers).json()["settings"]
    assert settings["iou_threshold"] == 0.4 and settings["weighting"] == "dawid_skene"
    assert client.get(f"/api/tasks/{t1}/consensus", headers=lead.headers).json()["status"] is None
    page.click("#dm-consensus-adjudicate")
    page.wait_for_url(f"{live_server}/projects/{project['id']}/adjudication")
