"""README.md's "A five-minute tour", walked in Chromium on the demo data exactly as `make demo`
builds it (issue #17 item 9): the lead's project table, task page, ground truth by star and by
Actions, a job's ground-truth stage and the dashboard; a reviewer's accept and reject; the
consensus dialog and the adjudication page; honeypots added by the lead and an annotator's job
with honeypots labeled, handed in and read on My work; the export URL of step 9.

Building the demo takes 30-40 s on a 2-core machine (25 s of it drawing the 60 images), the
walk about 45 s; the demo is built once, for the one test. Screenshots land in
test-output/screenshots/tour-*.png."""

from __future__ import annotations

import io
import zipfile

import pytest
from playwright.sync_api import expect

import chromium
from assay.services import users
from assay.services.demo import (
    ANNOTATORS,
    DEMO_PASSWORD,
    DEMO_TITLE,
    LEAD,
    NEW_JOB_TITLE,
    REVIEWER,
    build_demo,
)
from assay.store.models import Task
from builders import Person
from chromium import sign_in

pytestmark = chromium.marks

ANA = ANNOTATORS[0][0]  # the annotator the README names in step 8


@pytest.fixture
def demo(db, settings) -> dict:
    """The demo project as `assay demo` builds it (cli.server.demo calls build_demo), and its
    people with the printed password."""
    with db.session() as s:
        info = build_demo(s, settings.resolved_media_root)
    people = {}
    with db.session() as s:
        for email in (LEAD, REVIEWER, ANA):
            user = users.authenticate_password(s, email, DEMO_PASSWORD)
            token = users.reset_token(s, user.id)
            people[email] = Person(user.id, email, user.role, token, DEMO_PASSWORD)
    return {"project": info.project_id, "people": people}


def shot(page, step: str) -> None:
    chromium.shot(page, f"tour-{step}")


def said(page, text: str) -> None:
    expect(page.locator("#dm-message")).to_have_text(text)


def rows(page) -> list[int]:
    return [int(r.get_attribute("data-task")) for r in page.locator("table.tasks tbody tr").all()]


def gt_cell(page, task: int) -> str:
    """The GT status column: none, set, done or empty."""
    return page.locator(f"tr[data-task='{task}'] span.status").inner_text()


def wait_table(page) -> None:
    page.wait_for_selector("body[data-dm-ready=true]")


def pick(page, task: int) -> None:
    page.get_by_label(f"Select task #{task}", exact=True).check()


def run_action(page, name: str) -> None:
    page.click("#dm-actions")
    page.get_by_role("button", name=name).click()


def test_the_readme_tour_works_on_the_demo(live_server, client, db, demo):
    pid, people = demo["project"], demo["people"]
    lead, reviewer, ana = people[LEAD], people[REVIEWER], people[ANA]
    project_url = f"/projects/{pid}"
    with chromium.new_page(1440, 900) as page:
        # 1. sign in as the lead: the demo project is listed
        sign_in(page, live_server, lead, "/")
        expect(page.locator("table.list tbody td").first).to_have_text(DEMO_TITLE)
        shot(page, "01-projects")

        # 2. the task table: thumbnails, annotation and prediction counts, the GT column
        page.click(f"text={DEMO_TITLE}")
        page.wait_for_url(f"{live_server}{project_url}")
        wait_table(page)
        tasks = rows(page)
        assert len(tasks) >= 20
        thumb = page.locator("td.thumb img").first
        thumb.wait_for()
        page.wait_for_function(
            "img => img.complete && img.naturalWidth > 0", arg=thumb.element_handle()
        )
        head = page.locator("table.tasks thead").text_content()
        assert all(c in head for c in ("Image", "Ground truth", "Annotations", "Predictions"))
        numbers = page.locator(f"tr[data-task='{tasks[0]}'] td.num").all_inner_texts()
        assert numbers[-2:] == ["2", "1"], numbers  # two annotations, one prediction
        assert gt_cell(page, tasks[0]) == "none"
        shot(page, "02-project-table")
        # ... open a task: every annotation's and prediction's boxes
        page.click(f"a[href='/tasks/{tasks[0]}'] >> nth=0")
        page.wait_for_selector("body[data-drawn=true]")
        assert page.locator(".source.prediction").count() == 1
        stars = page.locator("button.star")
        assert stars.count() == 2  # two annotators labeled every image
        page.click(".source[data-source=all]")
        assert page.locator("#overlay g.region").count() > 0
        shot(page, "02-task-page")

        # 3. ground truth: star an annotation on the task page ...
        stars.first.click()
        expect(page.locator("#task-message")).to_contain_text("is now the ground truth")
        shot(page, "03-task-star")
        # ... or select tasks and run Actions -> Assign ground truths / Set ground truths from
        # annotator
        page.goto(f"{live_server}{project_url}")
        wait_table(page)
        assert gt_cell(page, tasks[0]) == "set"
        for t in tasks[1:4]:
            pick(page, t)
        run_action(page, "Assign ground truths (earliest annotation)…")
        page.click("#dm-confirm-run")
        said(
            page,
            "Assign ground truths: 3 changed, 0 unchanged, 0 skipped (of 3 selected tasks).",
        )
        for t in tasks[4:6]:
            pick(page, t)
        run_action(page, "Set ground truths from annotator…")
        dialog = page.locator("#dm-annotator-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_label("Annotator").select_option(label=f"{ANA} · annotated 40 tasks")
        dialog.get_by_role("button", name="Set ground truths").click()
        expect(page.locator("#dm-message")).to_contain_text("Set ground truths")
        page.reload()
        wait_table(page)
        assert [gt_cell(page, t) for t in tasks[:4]] == ["set"] * 4
        shot(page, "03-assign-ground-truths")

        # 4. a job's ground-truth stage from /projects/<id>/jobs: start from an annotator's
        # boxes, compare with the model in the Reference pane, press Done
        page.click("text=Jobs and ground-truth stages →")
        page.wait_for_url(f"{live_server}{project_url}/jobs")
        shot(page, "04-jobs")
        page.click("tr:has-text('Flight block 1') >> text=Ground-truth stage")
        page.wait_for_url(lambda url: url.endswith("/ground-truth"))
        task = wait_gt_ready(page)
        starts = page.locator("#gt-start-from option").all_inner_texts()
        assert any(ANA in s for s in starts), starts
        page.select_option(
            "#gt-reference", index=len(page.locator("#gt-reference option").all()) - 1
        )
        shot(page, "04-gt-stage")
        page.click("#gt-done")
        wait_gt_ready(page, not_task=task)
        with db.session(write=False) as s:
            assert s.get(Task, task).gt_status == "done"

        # 5. the dashboard, and the same scores through the API (also as CSV)
        page.goto(f"{live_server}{project_url}")
        page.click("#dashboard-link")
        page.wait_for_url(f"{live_server}{project_url}/dashboard")
        page.wait_for_function("() => document.getElementById('dash').dataset.charts === 'ready'")
        assert ANA in page.inner_text("body")
        shot(page, "05-dashboard")
        for what in ("annotators", "models", "labels", "confusion", "agreement"):
            r = client.get(f"/api/projects/{pid}/quality/{what}", headers=lead.headers)
            assert r.status_code == 200, (what, r.text)
            r = client.get(f"/api/projects/{pid}/quality/{what}?format=csv", headers=lead.headers)
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv"), what
        # the conflicts with GT, grouped, linked from the dashboard
        page.click("#conflicts-link")
        page.wait_for_url(f"{live_server}{project_url}/conflicts")
        page.wait_for_selector("#conflicts[data-ready=true]")
        assert page.locator("tr.cf-group").count() > 0
        shot(page, "05-conflicts")

    # 6. review: a reviewer presses Review All Tasks, accepts one annotation, rejects one of
    # ana's with a comment (weakest first: lowest pairwise agreement)
    with chromium.new_page(1440, 900) as page:
        sign_in(page, live_server, reviewer, project_url)
        page.click("text=Review All Tasks")
        page.wait_for_url(f"{live_server}{project_url}/review")
        first = wait_annotation(page)
        shot(page, "06-review")
        page.keyboard.press("a")
        wait_annotation(page, not_id=first)
        assert annotation(client, reviewer, first)["review_status"] == "accepted"
        page.select_option("#rv-order", "agreement")
        page.wait_for_url(lambda url: "order=agreement" in url)
        page.select_option("#rv-annotator", label=ANA)
        page.wait_for_url(lambda url: f"annotator={ana.id}" in url)
        rejected = wait_annotation(page)
        assert ANA in page.inner_text("#rv-title")
        page.keyboard.press("r")
        page.select_option("#rv-reason", "other")
        page.fill("#rv-comment", "The zebra at the water hole is missing.")
        shot(page, "06-review-reject")
        page.click("#rv-reject-send")
        wait_annotation(page, not_id=rejected)
        assert annotation(client, reviewer, rejected)["review_status"] == "rejected"

    # 7. consensus: the lead merges the annotators; the adjudication page opens
    with chromium.new_page(1440, 900) as page:
        sign_in(page, live_server, lead, project_url)
        wait_table(page)
        page.click("#dm-consensus")
        dialog = page.locator("#dm-consensus-dialog")
        expect(dialog).to_be_visible()
        page.wait_for_function(
            "() => document.getElementById('dm-consensus-dialog').dataset.preview === 'done'"
        )
        shot(page, "07-consensus-dialog")
        page.click("#dm-consensus-merge")
        page.wait_for_function(
            "() => document.getElementById('dm-consensus-dialog').dataset.state === 'done'",
            timeout=120_000,
        )
        status = page.inner_text("#dm-consensus-status")
        assert status.startswith("Done. 60 tasks:"), status
        shot(page, "07-consensus-done")
        page.goto(f"{live_server}{project_url}/adjudication")
        page.wait_for_function(
            "() => ['true', 'finished'].includes(document.getElementById('adj').dataset.ready)"
            " && document.getElementById('adj').dataset.busy === 'false'"
        )
        shot(page, "07-adjudication")

        # 8. honeypots: select GT tasks, Actions -> Add to honeypots
        page.goto(f"{live_server}{project_url}")
        wait_table(page)
        page.click("text=Has GT")
        page.wait_for_url(lambda url: "ground_truth=true" in url)
        wait_table(page)
        with_gt = rows(page)
        # the consensus is nobody's annotation: the table still counts the two annotators'
        numbers = page.locator(f"tr[data-task='{tasks[0]}'] td.num").all_inner_texts()
        assert numbers[-2:] == ["2", "1"], numbers
        for t in with_gt[:3]:
            pick(page, t)
        run_action(page, "Add to honeypots…")
        dialog = page.locator("#dm-honeypots-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Add to honeypots").click()
        expect(page.locator("#dm-message")).to_contain_text("Add to honeypots")
        shot(page, "08-add-to-honeypots")

    # ... ana labels her job with honeypots, hands it in and reads the feedback on My work
    job = next(
        j
        for j in client.get(f"/api/projects/{pid}/jobs", headers=lead.headers).json()["results"]
        if j["title"] == NEW_JOB_TITLE
    )
    hidden = client.get(f"/api/jobs/{job['id']}/honeypots", headers=lead.headers).json()
    assert len(hidden["results"] if isinstance(hidden, dict) else hidden) == 2
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, ana, "/me")
        row = page.locator(f"tr[data-job='{job['id']}']")
        expect(row.locator(".hand-in")).to_contain_text("Not handed in yet")
        expect(row.locator("a.annotate-link")).to_have_text("Start")
        shot(page, "08-my-work-before")
        row.locator("a.annotate-link").click()
        page.wait_for_url(f"{live_server}/jobs/{job['id']}/annotate")
        task = wait_task(page)
        total = int(page.text_content("#an-progress-text").split(" of ")[1])
        assert total == 6  # four new images and two honeypots, which look like any other
        shot(page, "08-annotate")
        for i in range(total):
            page.keyboard.press("Control+Enter")  # "nothing to label here" is an answer too
            if i < total - 1:
                task = wait_task(page, task)
        page.wait_for_function(
            """() => { const ed = document.getElementById("an-editor");
                       return ed.dataset.ready === "complete" && ed.dataset.busy === "false"; }"""
        )
        page.click("#an-handin-button")
        page.wait_for_function(
            "() => ['needs_fixes', 'accepted', 'pending_review']"
            ".includes(document.getElementById('an-editor').dataset.status)"
        )
        assert "honeypot" not in page.text_content("body").lower()
        shot(page, "08-handed-in")
        page.click("text=My work")
        page.wait_for_url(f"{live_server}/me")
        handed_in = page.locator(f"tr[data-job='{job['id']}']")
        assert handed_in.get_attribute("data-status") != "open"
        expect(handed_in.locator(".score")).to_contain_text("Your score on the checks")
        reviews = page.inner_text("#my-reviews")
        assert "The zebra at the water hole is missing." in reviews
        shot(page, "08-my-work-feedback")

    # 9. the export URL answers with the answer key
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, lead, project_url)
        r = page.request.get(
            f"{live_server}/api/projects/{pid}/export?exportType=COCO&ground_truth_only=true"
        )
        assert r.ok, r.text()
        coco = r.json()
        assert len(coco["images"]) >= 14 and coco["annotations"]  # 10 checked + those made here
        for kind in ("YOLO", "VOC", "CSV"):
            r = page.request.get(
                f"{live_server}/api/projects/{pid}/export?exportType={kind}&ground_truth_only=true"
            )
            assert r.ok, (kind, r.text())
            assert zipfile.ZipFile(io.BytesIO(r.body())).namelist(), kind
        page.click("#export-link")
        page.wait_for_url(f"{live_server}{project_url}/export")
        shot(page, "09-export")


def wait_gt_ready(page, not_task: int | None = None) -> int:
    page.wait_for_function(
        """(old) => {
            const ed = document.getElementById("gt-editor");
            return ed && ed.dataset.ready === "true" && ed.dataset.busy === "false"
                && ed.dataset.task !== String(old);
        }""",
        arg=not_task,
    )
    return int(page.get_attribute("#gt-editor", "data-task"))


def wait_annotation(page, not_id: int | None = None) -> int:
    page.wait_for_function(
        """(old) => {
            const rv = document.getElementById("rv");
            return rv && rv.dataset.ready === "true" && rv.dataset.busy === "false"
                && rv.dataset.annotation !== String(old);
        }""",
        arg=not_id,
    )
    return int(page.get_attribute("#rv", "data-annotation"))


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


def annotation(client, person, ann_id: int) -> dict:
    r = client.get(f"/api/annotations/{ann_id}", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()
