"""The visibility policy where an annotator meets it (issue #18): on the task page of a task in
her job, a blind project shows only her own annotation; once the lead makes the project shared
it lists her co-assignee's too and draws its boxes when picked, with no GT badge anywhere."""

from __future__ import annotations

from pathlib import Path

import chromium
from builders import alias_of, box, import_tasks, survey_image
from chromium import sign_in

pytestmark = chromium.marks


def _sources(page) -> list[str]:
    return page.eval_on_selector_all(
        "#sources .source[data-source^='annotation-']", "els => els.map(e => e.dataset.source)"
    )


def test_blind_hides_and_shared_shows_a_co_assignees_work(
    client, people, project, settings, live_server
):
    folder = Path(settings.resolved_media_root) / f"project-{project['id']}"
    folder.mkdir(parents=True, exist_ok=True)
    survey_image(folder / "field.png", 600, 400, seed=7)
    image = {"image": f"/data/media/project-{project['id']}/field.png"}
    [task] = import_tasks(client, people["lead"], project["id"], [{"data": image}])
    ann, ann2, lead = people["annotator"], people["annotator2"], people["lead"]
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "pair", "task_ids": [task], "assignees": [ann.id, ann2.id]},
        headers=lead.headers,
    )
    job = r.json()["id"]
    # both assignees know the task by the job's alias (services.task_aliases), the page too
    seen = alias_of(client, lead, ann, job, task)
    assert alias_of(client, lead, ann2, job, task) == seen != task
    made = {}
    results = {ann.email: [box(10, 10, 20, 20)],  # hers: one box; theirs: two
               ann2.email: [box(50, 10, 20, 20), box(50, 50, 10, 10)]}  # fmt: skip
    for person in (ann, ann2):
        r = client.post(f"/api/tasks/{seen}/annotations",
                        json={"result": results[person.email], "job": job},
                        headers=person.headers)  # fmt: skip
        assert r.status_code == 201, r.text
        made[person.email] = r.json()["id"]
    mine, theirs = made[ann.email], made[ann2.email]

    with chromium.new_page(1200, 800) as page:
        sign_in(page, live_server, ann, f"/tasks/{seen}")
        assert _sources(page) == [f"annotation-{mine}"]
        assert page.locator("#sources").inner_text().count(ann2.email) == 0
        chromium.shot(page, "visibility-blind")

        r = client.patch(f"/api/projects/{project['id']}", json={"visibility": "shared"},
                         headers=lead.headers)  # fmt: skip
        assert r.status_code == 200, r.text
        page.reload()
        assert _sources(page) == [f"annotation-{mine}", f"annotation-{theirs}"]
        assert ann2.email in page.locator("#sources").inner_text()
        assert page.locator("[data-gt-badge], .star").count() == 0
        page.click(f"[data-source='annotation-{theirs}']")
        page.wait_for_function(
            "() => document.querySelectorAll('#overlay rect.shape').length === 2"
        )
        chromium.shot(page, "visibility-shared")
