"""The guideline on the annotate page in Chromium (issue #19 items 3, 4): the annotator reads
the version in force (its Markdown rendered: no HTML of it runs), the notice of what changed
since she last read it, marks it read, and flags the task on screen as ambiguous."""

from __future__ import annotations

from pathlib import Path

import chromium
from builders import box, import_tasks, make_job, survey_image
from chromium import sign_in

pytestmark = chromium.marks

PWN = "<img src=x onerror=\"document.body.dataset.pwned='1'\">"


def test_annotator_reads_what_changed_and_flags_a_task(
    live_server, client, people, project, settings
):
    folder = Path(settings.resolved_media_root) / f"project-{project['id']}"
    folder.mkdir(parents=True, exist_ok=True)
    survey_image(folder / "field.png", 600, 400, seed=5)
    image = {"image": f"/data/media/project-{project['id']}/field.png"}
    ids = import_tasks(client, people["lead"], project["id"], [{"data": image}] * 2)
    job = make_job(client, people, {"project": project["id"]}, ids)
    lead = people["lead"].headers
    url = f"/api/projects/{project['id']}/guidelines"
    for body in (
        {"markdown": "# Rules\nBox each animal."},
        {"markdown": PWN + "Box each animal, **tails** included.", "change_log": "Tails count"},
    ):
        assert client.post(url, json=body, headers=lead).status_code == 201
    client.post(f"{url}/read", json={"version": 1}, headers=people["annotator"].headers)
    with chromium.new_page(1300, 820) as page:
        sign_in(page, live_server, people["annotator"], f"/jobs/{job['id']}/annotate")
        page.wait_for_function(
            """() => document.getElementById("an-editor").dataset.ready === "true" """
        )
        assert page.is_visible("#an-guideline-updated")
        assert "Version 2: Tails count" in page.text_content("#an-guideline-changes")
        # the Markdown is rendered; the HTML in it is letters on the page, never run
        text = page.text_content("#an-guideline-text").strip()
        assert text == PWN + "Box each animal, tails included."
        assert page.locator("#an-guideline-text img").count() == 0
        assert page.text_content("#an-guideline-text strong") == "tails"
        chromium.shot(page, "annotate-guideline")
        page.click("#an-guideline-read")
        page.wait_for_selector("#an-guideline-changes", state="hidden")
        assert client.get(url, headers=people["annotator"].headers).json()["read_version"] == 2
        task = int(page.get_attribute("#an-editor", "data-task"))
        page.click("#an-flag")
        page.fill("#an-flag-comment", "Two zebras overlap: one box or two?")
        page.click("#an-flag-send")
        page.wait_for_selector("#an-flag-form", state="hidden")
        assert "flagged as ambiguous" in page.text_content("#an-said")
        # her flag shows under the toolbar, waiting for the lead
        page.wait_for_selector("#an-cases-list li")
        assert page.is_visible("#an-cases")
        assert page.text_content("#an-cases-list li").startswith("“Two zebras overlap")
        assert "Waiting for the lead's answer." in page.text_content("#an-cases-list li")
        assert page.evaluate("document.body.dataset.pwned") is None
        [case] = client.get(f"/api/projects/{project['id']}/edge-cases", headers=lead).json()[
            "results"
        ]
        r = client.post(
            f"/api/edge-cases/{case['id']}/answer", json={"answer": "Two boxes"}, headers=lead
        )
        assert r.status_code == 200, r.text
        page.reload()  # the same task comes back: she reads the answer beside it
        page.wait_for_function(
            """() => document.getElementById("an-editor").dataset.ready === "true" """
        )
        assert int(page.get_attribute("#an-editor", "data-task")) == task
        assert "Lead's answer: Two boxes" in page.text_content("#an-cases-list li")
        chromium.shot(page, "annotate-edge-case-answer")
    log = client.get(f"/api/projects/{project['id']}/edge-cases", headers=lead).json()
    assert [(c["comment"], c["created_by"]) for c in log["results"]] == [
        ("Two zebras overlap: one box or two?", people["annotator"].id)
    ]
    mine = client.get(
        f"/api/projects/{project['id']}/edge-cases", headers=people["annotator"].headers
    )
    assert mine.json()["results"][0]["task"] == task  # the alias she saw


def test_lead_works_the_recheck_queue_and_the_edge_case_log(live_server, client, people, project):
    lead = people["lead"].headers
    ids = import_tasks(
        client, people["lead"], project["id"], [{"image": f"{i}.jpg"} for i in range(2)]
    )
    for t in ids:
        body = {"result": [box(1, 1, 2, 2)], "ground_truth": True}
        assert (
            client.post(f"/api/tasks/{t}/annotations", json=body, headers=lead).status_code == 201
        )
    url = f"/api/projects/{project['id']}/guidelines"
    assert client.post(url, json={"markdown": "v1"}, headers=lead).status_code == 201
    flagged = client.post(
        f"/api/tasks/{ids[0]}/edge-cases",
        json={"comment": "Foal or calf?"},
        headers=people["reviewer"].headers,
    )
    assert flagged.status_code == 201, flagged.text
    with chromium.new_page(1300, 900) as page:
        sign_in(page, live_server, people["lead"], f"/projects/{project['id']}/guidelines")
        page.fill("#gl-markdown", "<b>v2</b>: foals get their own box")
        page.fill("#gl-change-log", "Foals")
        page.select_option("#gl-recheck", "all")
        page.click("#gl-publish-send")
        page.wait_for_function(
            """() => document.getElementById("gl-progress").textContent.includes("of 2")"""
        )
        assert page.text_content("#gl-progress") == "0 of 2 re-checked, 2 remaining."
        assert page.text_content("#gl-text").strip() == "<b>v2</b>: foals get their own box"
        assert page.locator("#gl-text b").count() == 0
        page.click(f'.gl-recheck[data-task="{ids[0]}"][data-confirm="true"]')
        page.wait_for_function(
            """() => document.getElementById("gl-progress").textContent.startsWith("1 of 2")"""
        )
        # a change not made yet is refused, and the page says why
        page.click(f'.gl-recheck[data-task="{ids[1]}"][data-confirm="false"]')
        page.wait_for_selector("#gl-message:not([hidden])")
        assert "unchanged" in page.text_content("#gl-message")
        case = flagged.json()["id"]
        page.fill(f'.gl-case-form[data-case="{case}"] .gl-answer', "Foals: own box")
        page.click(f'.gl-case-form[data-case="{case}"] button[data-action="resolve"]')
        page.wait_for_selector(f'li[data-case="{case}"][data-status="resolved"]')
        chromium.shot(page, "guidelines")
        assert "resolves edge case" in page.text_content('#gl-versions li[data-version="2"]')
    queue = client.get(f"{url}/recheck", headers=lead).json()
    assert (queue["done"], queue["remaining"]) == (1, 1)
    got = client.get(f"/api/projects/{project['id']}/edge-cases", headers=lead).json()["results"][0]
    assert (got["status"], got["guideline_version"], got["answer"]) == (
        "resolved",
        2,
        "Foals: own box",
    )


def test_lead_works_the_recheck_queue_in_the_gt_editor(
    live_server, client, people, project, settings
):
    """From the guideline page into the GT-stage editor over the re-check queue: progress
    "n of 3", Confirm unchanged, Skip, an edit saved as the GT's new revision (history says
    why), an unchanged Save refused with the reason, and back to the guideline page at the end."""
    lead = people["lead"].headers
    folder = Path(settings.resolved_media_root) / f"project-{project['id']}"
    folder.mkdir(parents=True, exist_ok=True)
    survey_image(folder / "field.png", 800, 600, seed=7)
    image = {"image": f"/data/media/project-{project['id']}/field.png"}
    ids = import_tasks(client, people["lead"], project["id"], [{"data": image}] * 3)
    two = [box(10, 15, 20, 20, "Elephant"), box(60, 50, 15, 20, "Zebra")]
    for t in ids:
        r = client.post(
            f"/api/tasks/{t}/annotations", json={"result": two, "ground_truth": True}, headers=lead
        )
        assert r.status_code == 201, r.text
    url = f"/api/projects/{project['id']}/guidelines"
    assert client.post(url, json={"markdown": "v1"}, headers=lead).status_code == 201
    body = {"markdown": "v2", "change_log": "Zebras in herds", "recheck": "all"}
    assert client.post(url, json=body, headers=lead).json()["rechecks_queued"] == 3

    def shown(old=None) -> int:
        page.wait_for_function(
            """(old) => {
                const ed = document.getElementById("gt-editor");
                return ed.dataset.ready === "true" && ed.dataset.busy === "false"
                    && ed.dataset.task !== String(old);
            }""",
            arg=old,
        )
        return int(page.get_attribute("#gt-editor", "data-task"))

    with chromium.new_page(1400, 860) as page:
        sign_in(page, live_server, people["lead"], f"/projects/{project['id']}/guidelines")
        assert page.text_content("#gl-recheck-open") == "Re-check 3 tasks in the GT editor"
        page.click("#gl-recheck-open")
        page.wait_for_url(f"{live_server}/projects/{project['id']}/guidelines/recheck")
        first = shown()
        assert first == ids[0]  # oldest first
        assert page.inner_text("#gt-progress-text") == "0 of 3 re-checked · 0 %"
        assert "asked by guideline version 2" in page.inner_text("#gt-recheck-info")
        assert page.locator("#gt-left g.gt-box").count() == 2  # the GT as it stands
        chromium.shot(page, "recheck-editor")
        page.click("#gt-confirm")
        second = shown(first)
        assert page.inner_text("#gt-progress-text") == "1 of 3 re-checked · 33 %"
        assert f"Task #{first} confirmed unchanged" in page.inner_text("#gt-status")
        page.click("#gt-back")  # Skip: the next waiting task, the skipped one stays waiting
        third = shown(second)
        assert third == ids[2] and page.inner_text("#gt-progress-text").startswith("1 of 3")
        # edit: delete the Elephant box, save as the GT's new revision
        rect = page.locator("#gt-left .gt-svg").bounding_box()
        page.mouse.click(rect["x"] + 0.2 * rect["width"], rect["y"] + 0.25 * rect["height"])
        assert page.locator("#gt-left g.gt-box.selected").get_attribute("data-label") == "Elephant"
        page.keyboard.press("Delete")
        page.click("#gt-done")
        back_to = shown(third)
        assert back_to == second  # round to the skipped one
        assert page.inner_text("#gt-progress-text") == "2 of 3 re-checked · 67 %"
        assert f"Task #{third} saved as GT revision 2" in page.inner_text("#gt-status")
        # saving with nothing changed is refused, and the editor says why
        page.click("#gt-done")
        page.wait_for_selector("#gt-message:not([hidden])")
        assert "unchanged" in page.text_content("#gt-message")
        page.click("#gt-confirm")  # the last one: back to the guideline page
        page.wait_for_url(f"{live_server}/projects/{project['id']}/guidelines")
        assert page.text_content("#gl-progress") == "3 of 3 re-checked, 0 remaining."
        assert page.locator("#gl-recheck-open").count() == 0
    queue = client.get(f"{url}/recheck", headers=lead).json()["results"]
    assert {x["task"]: (x["status"], x["resolved_revision"]) for x in queue} == {
        ids[0]: ("confirmed", 1),
        ids[1]: ("confirmed", 1),
        ids[2]: ("changed", 2),
    }
    anns = client.get(f"/api/tasks/{ids[2]}/annotations", headers=lead).json()
    gt = next(a for a in anns if a["ground_truth"])
    assert [r["value"]["rectanglelabels"] for r in gt["result"]] == [["Zebra"]]
    history = client.get(
        f"/api/projects/{project['id']}/ground-truth/history?task={ids[2]}", headers=lead
    ).json()["results"]
    assert [h["note"] for h in history if h["action"] == "edited"] == [
        "re-checked for guideline version 2"
    ]
