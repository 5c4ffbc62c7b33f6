"""What a newcomer hit on the pages (issue #17 item 8): previous / next task links, a favicon."""

from __future__ import annotations

import re

from builders import aliases_of, import_tasks

LINK_RE = re.compile(r'<a href="/tasks/(\d+)" id="task-(previous|next)"')


def _links(client, task_id: int) -> dict[str, int]:
    r = client.get(f"/tasks/{task_id}")
    assert r.status_code == 200, r.text
    return {which: int(t) for t, which in LINK_RE.findall(r.text)}


def test_the_task_page_links_the_previous_and_next_task_the_reader_may_see(
    client, signed_in, people, project
):
    lead = people["lead"]
    ids = import_tasks(client, lead, project["id"], [{"image": f"{i}.jpg"} for i in range(5)])
    client.delete(f"/api/tasks/{ids[2]}", headers=lead.headers)  # deleted tasks are skipped
    page = signed_in(lead)
    assert _links(page, ids[0]) == {"next": ids[1]}
    assert _links(page, ids[1]) == {"previous": ids[0], "next": ids[3]}
    assert _links(page, ids[4]) == {"previous": ids[3]}
    # an annotator in a project with jobs knows its tasks by alias and gets no links: real-id
    # order would show which tasks are older (honeypots); their job's queue leads the way
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "j", "task_ids": [ids[0], ids[4]], "assignees": [people["annotator"].id]},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    annotator = signed_in(people["annotator"])
    seen = aliases_of(client, lead, people["annotator"], r.json()["id"])
    assert _links(annotator, seen[ids[0]]) == {} and _links(annotator, seen[ids[4]]) == {}
    assert _links(page, ids[0]) == {"next": ids[1]}  # staff still step through by real id


def test_pages_name_a_favicon_that_is_served(client, signed_in, people):
    html = signed_in(people["lead"]).get("/").text
    (href,) = re.findall(r'<link rel="icon" href="([^"]+)" type="image/svg\+xml">', html)
    r = client.get(href)
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
