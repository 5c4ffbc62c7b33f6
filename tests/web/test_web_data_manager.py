"""The data manager (a project page's task table) and the task page's GT stars, server-rendered.

What each role sees: the Ground truth and GT status columns, the Accuracy and Agreement columns,
the GT filter, the counts header, the checkboxes and the Actions menu. The clicking itself is in test_web_browser.py.
"""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import update

from assay.services.errors import Forbidden
from assay.store.models import Task
from builders import ParsedPage as _Page
from builders import (
    Person,
    box,
    by_task,
    counting_queries,
    header_counts,
    import_tasks,
    wait_for_job,
)

NEXT_RE = re.compile(r'<a href="([^"]+)" rel="next">')
FILTER_RE = re.compile(r'<a href="([^"]+)"( aria-current="page")?>(All|Has GT|No GT)</a>')


@pytest.fixture
def dm(client, people, project, db) -> dict:
    """Seven tasks: three with GT (by annotator, annotator2, annotator), one done, one empty.

    t0: annotator (GT), annotator2 · t1: annotator2 (GT) · t2: annotator · t3: nothing
    t4: annotator (GT), done · t5: nothing, empty · t6: annotator2
    """
    a1, a2 = people["annotator"].id, people["annotator2"].id

    def ann(author: int, gt: bool = False) -> dict:
        return {"result": [box(10, 10, 20, 20)], "completed_by": author, "ground_truth": gt}

    items = [
        {
            "data": {"image": f"/data/media/project-{project['id']}/0.png"},
            "annotations": [ann(a1, True), ann(a2)],
        },
        {
            "data": {"image": f"/data/media/project-{project['id']}/1.png"},
            "annotations": [ann(a2, True)],
        },
        {"data": {"image": f"/data/media/project-{project['id']}/2.png"}, "annotations": [ann(a1)]},
        {"data": {"image": f"/data/media/project-{project['id']}/3.png"}},
        {
            "data": {"image": f"/data/media/project-{project['id']}/4.png"},
            "annotations": [ann(a1, True)],
        },
        {"data": {"image": f"/data/media/project-{project['id']}/5.png"}},
        {"data": {"image": f"/data/media/project-{project['id']}/6.png"}, "annotations": [ann(a2)]},
    ]
    ids = import_tasks(client, people["lead"], project["id"], items)
    with db.session() as s:
        s.execute(update(Task).where(Task.id == ids[4]).values(gt_status="done"))
        s.execute(update(Task).where(Task.id == ids[5]).values(gt_status="empty"))
    return {"project": project["id"], "tasks": ids}


def test_lead_sees_gt_column_with_author_status_counts_and_actions(signed_in, people, dm):
    ids = dm["tasks"]
    r = signed_in(people["lead"]).get(f"/projects/{dm['project']}")
    assert r.status_code == 200
    page = _Page(r.text)
    assert page.headers == [
        "Select all tasks on this page", "Task", "Image", "Ground truth", "GT status", "Honeypot",
        "Accuracy", "Pairwise agreement", "Review", "Reviewers", "Annotations", "Predictions", "Created",
    ]  # fmt: skip
    rows = by_task(page)
    assert [rows[f"#{i}"]["Ground truth"] for i in ids] == [
        "★ annotator@example.com",
        "★ annotator2@example.com",
        "–",
        "–",
        "★ annotator@example.com",
        "–",
        "–",
    ]
    # a task with a starred GT is never "none" (it was, beside the star)
    assert [rows[f"#{i}"]["GT status"] for i in ids] == [
        "set", "set", "none", "none", "done", "empty", "none",
    ]  # fmt: skip
    assert rows[f"#{ids[0]}"]["Select all tasks on this page"] == f"Select task #{ids[0]}"
    assert r.text.count('class="dm-pick"') == 7
    assert header_counts(r.text) == {
        "Tasks": "7",
        "With GT": "3",
        "Done": "1",
        "Empty": "1",
        "GT coverage": "42.9 %",
        "Annotations": "6",
        "Predictions": "0",
    }
    # the Actions menu with the bulk actions, and the page's data for the script
    assert 'id="dm-actions"' in r.text and "data_manager.js" in r.text
    actions = re.findall(r'data-action="(\w+)"[^>]*>([^<]+)</button>', r.text)
    assert actions == [
        ("set_ground_truths", "Set ground truths from annotator…"),
        ("assign_ground_truths", "Assign ground truths (earliest annotation)…"),
        ("assign_reviewers", "Assign reviewers…"),
        ("add_to_honeypots", "Add to honeypots…"),
        ("remove_from_honeypots", "Remove from honeypots…"),
        ("consensus", "Consensus (merge the selection)…"),
        ("create_job", "Create job…"),
        ("sample_ground_truth", "Sample ground truth into a job…"),
        ("delete_ground_truths", "Delete ground truths (annotations stay)…"),
    ]
    assert json.loads(page.json_scripts["dm-data"]) == {
        "project": dm["project"],
        "filter": None,
        "review_status": None,
        "view": None,
        "ordering": None,
        "total": 7,
        "sample_url": f"/api/projects/{dm['project']}/ground-truth/sample",
        "jobs_url": f"/projects/{dm['project']}/jobs",
        "create_job_url": f"/api/projects/{dm['project']}/jobs",
    }
    # "Set ground truths from annotator…" offers the project's annotators, and only them
    options = re.findall(r'<option value="(\d+)" data-tasks="\d+">([^<]+)</option>', r.text)
    assert options == [  # with how many tasks each annotated (t0, t2, t4 / t0, t1, t6)
        (str(people["annotator"].id), "annotator@example.com · annotated 3 tasks"),
        (str(people["annotator2"].id), "annotator2@example.com · annotated 3 tasks"),
    ]


def test_the_honeypot_column_shows_the_pool_to_leads_only(client, signed_in, people, dm):
    """Tasks in the honeypot pool show their difficulty (set, or derived); annotators and
    reviewers never learn which tasks are honeypots."""
    ids, lead = dm["tasks"], people["lead"].headers
    url = f"/api/dm/actions?project={dm['project']}"
    for task, difficulty in ((ids[0], "hard"), (ids[1], None)):
        r = client.post(
            f"{url}&id=add_to_honeypots",
            json={"selectedItems": {"all": False, "included": [task]}, "difficulty": difficulty},
            headers=lead,
        )
        assert r.json()["changed"] == 1, r.text
    rows = by_task(_Page(signed_in(people["lead"]).get(f"/projects/{dm['project']}").text))
    # a derived difficulty needs 3 scores or more: with fewer it is "unrated" (#18 item 5)
    assert [rows[f"#{i}"]["Honeypot"] for i in ids[:3]] == ["hard", "unrated", "–"]
    for who in ("reviewer", "annotator"):
        text = signed_in(people[who]).get(f"/projects/{dm['project']}").text
        assert "honeypot" not in text.lower(), who


def test_admin_gets_the_actions_menu_too(signed_in, people, dm):
    r = signed_in(people["admin"]).get(f"/projects/{dm['project']}")
    assert 'id="dm-actions"' in r.text and r.text.count('class="dm-pick"') == 7


def test_reviewer_sees_ground_truth_but_no_checkboxes_or_actions(signed_in, people, dm):
    r = signed_in(people["reviewer"]).get(f"/projects/{dm['project']}")
    page = _Page(r.text)
    assert page.headers == [
        "Task", "Image", "Ground truth", "GT status", "Accuracy", "Pairwise agreement", "Review",
        "Reviewers", "Annotations", "Predictions", "Created",
    ]  # fmt: skip
    assert by_task(page)[f"#{dm['tasks'][1]}"]["Ground truth"] == "★ annotator2@example.com"
    assert header_counts(r.text)["With GT"] == "3"
    assert "dm-actions" not in r.text and "dm-pick" not in r.text
    assert "data_manager.js" not in r.text and "dm-data" not in r.text
    assert [label for _, _, label in FILTER_RE.findall(r.text)] == ["All", "Has GT", "No GT"]


def test_annotator_never_sees_ground_truth_on_the_project_page(signed_in, people, dm):
    annotator = signed_in(people["annotator"])
    r = annotator.get(f"/projects/{dm['project']}")
    assert r.status_code == 200
    page = _Page(r.text)
    assert page.headers == ["Task", "Image", "Annotations", "Predictions", "Created"]
    assert "★" not in r.text and "Ground truth" not in r.text and "GT" not in r.text
    assert "Accuracy" not in r.text and "agreement" not in r.text.lower()
    assert "honeypot" not in r.text.lower()
    assert "dm-actions" not in r.text and "dm-pick" not in r.text
    assert not FILTER_RE.findall(r.text)
    # their own three annotations; nothing about GT, done or empty
    assert header_counts(r.text) == {"Tasks": "7", "Annotations": "3", "Predictions": "0"}
    assert [r["Annotations"] for r in page.records] == ["1", "0", "1", "0", "1", "0", "0"]
    # asking for the filter by hand is refused
    refused = annotator.get(f"/projects/{dm['project']}?ground_truth=true")
    assert refused.status_code == 403
    assert "Annotators cannot see which annotations are ground truth." in refused.text
    assert "<html" in refused.text and "ground_truth.view" not in refused.text


def test_filter_has_gt_and_no_gt_and_paging_keeps_the_filter(signed_in, people, dm):
    lead = signed_in(people["lead"])
    ids, base = dm["tasks"], f"/projects/{dm['project']}"

    def walk(url: str) -> list[list[str]]:
        """Task cells of every page, following the Next links from `url`."""
        pages = []
        while url:
            r = lead.get(url.replace("&amp;", "&"))
            assert r.status_code == 200, r.text
            pages.append([row["Task"] for row in _Page(r.text).records])
            found = NEXT_RE.search(r.text)
            url = found.group(1) if found else ""
        return pages

    assert walk(f"{base}?ground_truth=true&page_size=2") == [
        [f"#{ids[0]}", f"#{ids[1]}"],
        [f"#{ids[4]}"],
    ]
    assert walk(f"{base}?ground_truth=false&page_size=2") == [
        [f"#{ids[2]}", f"#{ids[3]}"],
        [f"#{ids[5]}", f"#{ids[6]}"],
    ]
    assert walk(f"{base}?page_size=3") == [
        [f"#{i}" for i in ids[:3]],
        [f"#{i}" for i in ids[3:6]],
        [f"#{ids[6]}"],
    ]

    r = lead.get(f"{base}?ground_truth=false&page_size=2&page=2")
    assert "3–4 of 4 tasks" in r.text and "page 2 of 2" in r.text
    # the filter links keep the page size, go back to page 1 and mark the current one
    assert FILTER_RE.findall(r.text) == [
        (f"{base}?page_size=2", "", "All"),
        (f"{base}?page_size=2&amp;ground_truth=true", "", "Has GT"),
        (f"{base}?page_size=2&amp;ground_truth=false", ' aria-current="page"', "No GT"),
    ]
    # the header counts are the project's, not the filter's; the script gets the filtered total
    assert header_counts(r.text)["Tasks"] == "7"
    assert json.loads(_Page(r.text).json_scripts["dm-data"])["filter"] is False
    assert json.loads(_Page(r.text).json_scripts["dm-data"])["total"] == 4

    past = lead.get(f"{base}?ground_truth=true&page_size=2&page=3")
    assert past.status_code == 404 and "Invalid page." in past.text
    bad = lead.get(f"{base}?ground_truth=maybe")
    assert bad.status_code == 400 and "ground_truth" in bad.text


def test_filter_with_no_match_says_so(signed_in, people, client, project):
    import_tasks(
        client,
        people["lead"],
        project["id"],
        [{"image": f"/data/media/project-{project['id']}/x.png"}],
    )
    r = signed_in(people["lead"]).get(f"/projects/{project['id']}?ground_truth=true")
    assert r.status_code == 200
    assert "No tasks with ground truth." in r.text and "<tbody>" not in r.text
    assert header_counts(r.text)["GT coverage"] == "0.0 %"


def test_gt_authors_take_one_query_whatever_the_page_size(signed_in, people, client, dm, db):
    lead = signed_in(people["lead"])
    url = f"/projects/{dm['project']}"
    with counting_queries(db) as few:
        assert lead.get(url + "?page_size=2").status_code == 200
    more = [
        {"data": {"image": f"/data/media/project-{dm['project']}/m{i}.png"},
         "annotations": [{"result": [], "completed_by": people["annotator"].id,
                          "ground_truth": True}]}
        for i in range(30)
    ]  # fmt: skip
    import_tasks(client, people["lead"], dm["project"], more)
    with counting_queries(db) as many:
        r = lead.get(url + "?page_size=40")
    assert r.status_code == 200
    gt_cells = [row["Ground truth"] for row in _Page(r.text).records]
    assert gt_cells.count("★ annotator@example.com") == 32 and len(gt_cells) == 37
    assert len(many) == len(few), (len(few), len(many))


# -- the Accuracy and Agreement columns ---------------------------------------------------------

TWO_BOXES = [box(10, 10, 10, 10), box(40, 40, 10, 10)]


def _quality_tasks(client, people: dict, project_id: int, n: int, with_gt: bool = True) -> list:
    """n tasks with a GT of two boxes (unless not with_gt) and a cancelled annotation, which
    takes no part in either column; then annotator posts both boxes (accuracy 1) and
    annotator2 the first only (0.5), which scores them against the GT."""
    cancelled = {"result": [], "completed_by": people["annotator2"].id, "was_cancelled": True}
    gt = {"result": TWO_BOXES, "completed_by": people["annotator"].id, "ground_truth": True}
    item = {
        "data": {"image": f"/data/media/project-{project_id}/q.png"},
        "annotations": [cancelled],
    }
    if with_gt:
        item["annotations"].insert(0, gt)
    ids = import_tasks(client, people["lead"], project_id, [item] * n)
    for t in ids:
        for who, result in (("annotator", TWO_BOXES), ("annotator2", TWO_BOXES[:1])):
            r = client.post(
                f"/api/tasks/{t}/annotations", json={"result": result}, headers=people[who].headers
            )
            assert r.status_code == 201, r.text
    return ids


def test_lead_admin_reviewer_see_accuracy_and_agreement_per_task(signed_in, people, client, dm):
    # t: GT; A perfect (100 %), B one box of two (50 %): accuracy 75 %; A vs B: 1 TP, 1 FN
    # u: the same without GT: agreement only
    (t,) = _quality_tasks(client, people, dm["project"], 1)
    (u,) = _quality_tasks(client, people, dm["project"], 1, with_gt=False)
    for who in ("lead", "admin", "reviewer"):
        rows = by_task(_Page(signed_in(people[who]).get(f"/projects/{dm['project']}").text))
        cells = {k: (r["Accuracy"], r["Pairwise agreement"]) for k, r in rows.items()}
        assert cells[f"#{t}"] == ("75 %", "50 %"), who
        assert cells[f"#{u}"] == ("–", "50 %"), who
        # dm's first task: annotator's GT (imported by the lead, so still her work) and
        # annotator2's matching annotation make a pair; the rest have no pair
        first = ("100 %", "100 %")
        assert [cells[f"#{i}"] for i in dm["tasks"]] == [first] + [("–", "–")] * 6, who


def test_quality_cells_match_task_agreement_and_the_stored_scores(people, client, dm, db):
    from assay.services import quality
    from assay.services.access import Actor, Role
    from assay.services.views import task_table

    (t,) = _quality_tasks(client, people, dm["project"], 1)
    (u,) = _quality_tasks(client, people, dm["project"], 1, with_gt=False)
    with db.session() as s:
        lead = Actor(people["lead"].id, Role.LEAD)
        cells = task_table.quality_cells(s, lead, dm["project"], [t, u, *dm["tasks"]])
        assert set(cells) == {t, u, dm["tasks"][0]}
        assert cells[t].agreement == quality.task_agreement(s, lead, t).agreement == 0.5
        assert cells[u].agreement == quality.task_agreement(s, lead, u).agreement == 0.5
        assert cells[t].accuracy == pytest.approx(0.75) and cells[u].accuracy is None
        annotator = Actor(people["annotator"].id, Role.ANNOTATOR)
        with pytest.raises(Forbidden):
            task_table.quality_cells(s, annotator, dm["project"], [t])


def test_quality_columns_take_a_fixed_number_of_queries(signed_in, people, client, dm, db):
    lead = signed_in(people["lead"])
    url = f"/projects/{dm['project']}"
    _quality_tasks(client, people, dm["project"], 1)
    with counting_queries(db) as few:
        r = lead.get(url + "?page_size=8")
    assert r.status_code == 200
    assert [(row["Accuracy"], row["Pairwise agreement"]) for row in _Page(r.text).records].count(
        ("75 %", "50 %")
    ) == 1
    _quality_tasks(client, people, dm["project"], 25)
    with counting_queries(db) as many:
        r = lead.get(url + "?page_size=40")
    assert r.status_code == 200
    records = _Page(r.text).records
    assert len(records) == 33
    assert [(row["Accuracy"], row["Pairwise agreement"]) for row in records].count(
        ("75 %", "50 %")
    ) == 26
    assert len(many) == len(few), (len(few), len(many))


def test_project_list_shows_gt_coverage_to_those_who_see_gt(signed_in, people, dm):
    lead = _Page(signed_in(people["lead"]).get("/").text)
    assert lead.headers[4] == "With GT" and lead.rows[0][4] == "3 (43 %)"
    annotator = _Page(signed_in(people["annotator"]).get("/").text)
    assert "With GT" not in annotator.headers and len(annotator.rows[0]) == 5


# -- the task page's stars ---------------------------------------------------------------------

STAR_BUTTON_RE = re.compile(
    r'<button type="button" class="star" data-annotation="(\d+)" aria-pressed="(true|false)"'
)


def _annotation_ids(client, lead: Person, task_id: int) -> list[int]:
    r = client.get(f"/api/tasks/{task_id}/annotations", headers=lead.headers)
    return [a["id"] for a in r.json()]


def test_task_page_star_buttons_for_lead_state_for_reviewer_nothing_for_annotator(
    signed_in, people, client, dm
):
    task_id = dm["tasks"][0]
    gt, other = _annotation_ids(client, people["lead"], task_id)

    for who in ("lead", "admin"):
        r = signed_in(people[who]).get(f"/tasks/{task_id}")
        assert STAR_BUTTON_RE.findall(r.text) == [(str(gt), "true"), (str(other), "false")]
        assert f'aria-label="Ground truth: annotation #{gt} by annotator@example.com"' in r.text
        assert 'id="task-message"' in r.text

    reviewer = signed_in(people["reviewer"]).get(f"/tasks/{task_id}").text
    assert not STAR_BUTTON_RE.findall(reviewer) and 'id="task-message"' not in reviewer
    assert reviewer.count('<span class="star on" role="img" aria-label="Ground truth"') == 1

    annotator = signed_in(people["annotator"]).get(f"/tasks/{task_id}").text
    assert 'class="star' not in annotator and ">GT<" not in annotator
    assert '"ground_truth": true' not in annotator


GT_ITEM = {"filter": "filter:tasks:ground_truth", "operator": "equal", "type": "Boolean"}
VIEW_TAB_RE = re.compile(r'<a href="([^"]+)" data-view="(\d+)"( aria-current="page")?[^>]*>([^<]+)')


def _saved_view(client, person, project_id, scope, **data) -> int:
    body = {"project": project_id, "scope": scope, "data": data}
    r = client.post("/api/dm/views", json=body, headers=person.headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_saved_view_tab_applies_its_filters_and_ordering_and_the_page_can_save_them(
    client, signed_in, people, dm
):
    ids, base = dm["tasks"], f"/projects/{dm['project']}"
    shared = _saved_view(
        client, people["lead"], dm["project"], "project", title="GT, newest",
        filters={"conjunction": "and", "items": [{**GT_ITEM, "value": True}]},
        ordering=["-tasks:id"],
    )  # fmt: skip
    mine = _saved_view(client, people["annotator"], dm["project"], "personal", title="Mine")
    lead = signed_in(people["lead"])
    r = lead.get(f"{base}?page_size=50&view={shared}")
    assert r.status_code == 200, r.text
    page = _Page(r.text)
    assert [row["Task"] for row in page.records] == [f"#{ids[i]}" for i in (4, 1, 0)]
    # the tab is current and keeps the page size only; the other filters keep the view
    assert VIEW_TAB_RE.findall(r.text) == [
        (
            f"{base}?page_size=50&amp;view={shared}",
            str(shared),
            ' aria-current="page"',
            "GT, newest",
        )
    ]
    assert f'{base}?page_size=50&amp;view={shared}&amp;review_status=none"' in r.text
    assert 'id="dm-view-rename"' in r.text and 'id="dm-view-delete"' in r.text
    data = json.loads(page.json_scripts["dm-views-data"])
    assert (data["view"], data["shares"], data["page"]["data"]["ordering"]) == (
        shared, True, ["-tasks:id"],
    )  # fmt: skip
    assert json.loads(page.json_scripts["dm-data"])["view"] == shared

    # the page's ordering replaces the view's, its filters are added to the view's
    r = lead.get(f"{base}?view={shared}&ordering=tasks:id&review_status=none")
    plain = lead.get(f"{base}?ground_truth=true&review_status=none")
    assert (
        [row["Task"] for row in _Page(r.text).records]
        == [row["Task"] for row in _Page(plain.text).records]
        == [f"#{ids[0]}"]
    )
    data = json.loads(_Page(r.text).json_scripts["dm-views-data"])
    assert data["page"]["data"] == {
        "filters": {
            "conjunction": "and",
            "items": [
                {**GT_ITEM, "value": True},
                {
                    "filter": "filter:tasks:review_status",
                    "operator": "equal",
                    "type": "String",
                    "value": "none",
                },
            ],
        },
        "ordering": ["tasks:id"],
    }
    bad = lead.get(f"{base}?ordering=tasks:colour")
    assert bad.status_code == 400 and "ordering" in bad.text
    # another's personal view is neither a tab nor openable
    assert lead.get(f"{base}?view={mine}").status_code == 404

    # an OR view cannot take the page's filters: "Save view" says why instead
    either = _saved_view(
        client, people["lead"], dm["project"], "personal", title="either",
        filters={"conjunction": "or", "items": [{**GT_ITEM, "value": True}, {**GT_ITEM, "value": False}]},
    )  # fmt: skip
    r = lead.get(f"{base}?view={either}&review_status=none")
    assert (
        "joined by OR" in json.loads(_Page(r.text).json_scripts["dm-views-data"])["page"]["error"]
    )


def test_an_annotator_sees_a_view_she_may_not_apply_and_is_told_why(client, signed_in, people, dm):
    base = f"/projects/{dm['project']}"
    shared = _saved_view(
        client, people["lead"], dm["project"], "project", title="GT only",
        filters={"conjunction": "and", "items": [{**GT_ITEM, "value": True}]},
    )  # fmt: skip
    annotator = signed_in(people["annotator"])
    r = annotator.get(base)
    assert [t[3] for t in VIEW_TAB_RE.findall(r.text)] == ["GT only"]
    r = annotator.get(f"{base}?view={shared}")
    assert r.status_code == 200
    assert "This view cannot be applied for you: Annotators cannot filter or order by ground" in (
        r.text
    )
    assert "<tbody>" not in r.text and 'id="dm-view-rename"' not in r.text
    data = json.loads(_Page(r.text).json_scripts["dm-views-data"])
    assert data["shares"] is False
    assert "Newest first" not in r.text  # no real times to order by


def test_the_annotations_column_counts_peoples_work_only(signed_in, people, client, project):
    """A task two annotators labelled and a third skipped shows 2 annotations, also after a
    consensus merged the two: the merge is no one's work, a skip is no annotation (as the
    task JSON's total_annotations)."""
    lead = people["lead"].headers
    skipped = {"result": [], "completed_by": people["reviewer"].id, "was_cancelled": True}
    (t,) = import_tasks(
        client,
        people["lead"],
        project["id"],
        [{"data": {"image": "x.jpg"}, "annotations": [skipped]}],
    )
    for who in ("annotator", "annotator2"):
        r = client.post(
            f"/api/tasks/{t}/annotations",
            json={"result": [box(10, 10, 20, 20)]},
            headers=people[who].headers,
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"/api/projects/{project['id']}/consensus/merge", json={"tasks": [t]}, headers=lead
    )
    assert r.status_code == 202, r.text
    merged = wait_for_job(client, lead, r.json()["id"])
    assert merged["status"] == "done" and merged["result"]["merged"] == 1, merged
    assert client.get(f"/api/tasks/{t}/consensus", headers=lead).json()["status"] == "merged"
    assert client.get(f"/api/tasks/{t}", headers=lead).json()["total_annotations"] == 2
    page = _Page(signed_in(people["lead"]).get(f"/projects/{project['id']}").text)
    assert by_task(page)[f"#{t}"]["Annotations"] == "2"
