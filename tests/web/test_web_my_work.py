"""The My work page (`/me`): a person's own jobs with their hand-in feedback, and the reviews of
their own annotations; who sees what, pagination and the verdict filter, one statement per
page of reviews, and in Chromium an annotator finding a reject comment from the header link."""

from __future__ import annotations

import re

import chromium
from builders import answer_job as _answer
from builders import (
    box,
    counting_queries,
    honeypot_settings,
    honeypots_of,
    import_tasks,
    job_aliases,
    make_job,
)

ROW_RE = re.compile(r'<tr data-(job|annotation)="(\d+)"')


def _rows(html: str, kind: str) -> list[int]:
    return [int(i) for k, i in ROW_RE.findall(html) if k == kind]


def _verdicts(html: str) -> list[str]:
    return re.findall(r'data-verdict="(\w+)"', html)


def _annotate(client, people, project_id: int, who: list[str]) -> dict[str, list[int]]:
    """One task per name in `who`, annotated by that person: their annotation ids, in order."""
    items = [
        {"data": {"image": f"/data/media/project-{project_id}/{i}.png"},
         "annotations": [{"result": [box(10, 10, 20, 20)], "completed_by": people[w].id}]}
        for i, w in enumerate(who)
    ]  # fmt: skip
    tasks = import_tasks(client, people["lead"], project_id, items)
    out: dict[str, list[int]] = {}
    for t, w in zip(tasks, who, strict=True):
        anns = client.get(f"/api/tasks/{t}/annotations", headers=people["lead"].headers).json()
        out.setdefault(w, []).append(anns[0]["id"])
    return out


def _review(client, person, ann_id: int, action: str, comment: str = "") -> dict:
    r = client.post(
        f"/api/annotations/{ann_id}/reviews",
        json={"action": action, "comment": comment},
        headers=person.headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_anonymous_is_sent_to_login(client):
    r = client.get("/me", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login?next=%2Fme"
    assert 'id="my-work-link"' not in client.get("/login").text


def test_every_signed_in_role_has_the_header_link_and_the_page(signed_in, people, project):
    for key in ("admin", "lead", "reviewer", "annotator"):
        c = signed_in(people[key])
        home = c.get("/")
        assert '<a href="/me" id="my-work-link"' in home.text, key
        r = c.get("/me")
        assert r.status_code == 200, key
        assert "You are not assigned to any job." in r.text
        assert "No reviews of your annotations yet." in r.text
        assert 'id="my-work-link" aria-current="page"' in r.text


def test_annotator_sees_own_jobs_only_with_progress(client, signed_in, people, project, db):
    p = project["id"]
    tasks = import_tasks(client, people["lead"], p, [{"image": f"{i}.jpg"} for i in range(4)])

    def job(title: str, who: list[str]) -> int:
        r = client.post(
            f"/api/projects/{p}/jobs",
            json={"title": title, "task_ids": tasks[:3],
                  "assignees": [people[w].id for w in who]},
            headers=people["lead"].headers,
        )  # fmt: skip
        assert r.status_code == 201, r.text
        return r.json()["id"]

    mine = job("Mine", ["annotator"])
    theirs = job("Theirs", ["annotator2"])
    shared = job("Shared", ["annotator", "annotator2"])
    # annotator2 does one task of the shared job: the annotator's own progress stays at 0
    r = client.post(
        f"/api/tasks/{job_aliases(client, shared)[tasks[0]]}/annotations",
        json={"job": shared, "result": [box(1, 1, 3, 3)]},
        headers=people["annotator2"].headers,
    )
    assert r.status_code == 201, r.text
    # the annotator does two tasks of their own job
    for t in tasks[:2]:
        r = client.post(
            f"/api/tasks/{job_aliases(client, mine)[t]}/annotations",
            json={"job": mine, "result": [box(1, 1, 3, 3)]},
            headers=people["annotator"].headers,
        )
        assert r.status_code == 201, r.text

    page = signed_in(people["annotator"]).get("/me").text
    assert sorted(_rows(page, "job")) == [mine, shared]
    assert theirs not in _rows(page, "job") and "Theirs" not in page
    # annotating a task anywhere takes it off their queue in every job (jobs.next_to_annotate)
    row = page.split(f'data-job="{mine}"')[1].split("</tr>")[0]
    assert "2 of 3" in row and "Not handed in yet" in row
    assert f'href="/jobs/{mine}/feedback"' in row and "Survey" in row
    other = signed_in(people["annotator2"]).get("/me").text
    assert sorted(_rows(other, "job")) == [theirs, shared]
    row2 = other.split(f'data-job="{shared}"')[1].split("</tr>")[0]
    assert "1 of 3" in row2
    # the jobs cost the same statements however many there are
    me = signed_in(people["annotator"])
    with counting_queries(db) as two:
        assert me.get("/me").status_code == 200
    job("Third", ["annotator"])
    with counting_queries(db) as three:
        assert "Third" in me.get("/me").text
    assert len(two) == len(three)


def test_annotator_sees_own_reviews_and_the_reject_comment(client, signed_in, people, project):
    anns = _annotate(client, people, project["id"], ["annotator", "annotator", "annotator2"])
    (a1, a2), (b1,) = anns["annotator"], anns["annotator2"]
    reviewer, lead = people["reviewer"], people["lead"]
    _review(client, reviewer, a1, "reject", "The trunk is cut off: box the whole elephant.")
    _review(client, reviewer, b1, "reject", "Someone else's mistake.")
    accepted = _review(client, reviewer, a2, "accept")
    # two standing reviews of a2: the latest one (the lead's reject) is the one shown
    lead_review = _review(client, lead, a2, "reject", "Second look: that is a rock.")

    page = signed_in(people["annotator"]).get("/me").text
    assert _rows(page, "annotation") == [a2, a1]  # newest review first
    assert _verdicts(page) == ["rejected", "rejected"]
    assert "The trunk is cut off: box the whole elephant." in page
    assert "Second look: that is a rock." in page
    assert "Someone else&#39;s mistake." not in page and "Someone else" not in page
    other = signed_in(people["annotator2"]).get("/me").text
    assert _rows(other, "annotation") == [b1] and "Someone else&#39;s mistake." in other
    assert "The trunk is cut off" not in other

    # undoing the lead's reject brings the reviewer's accept back; undoing that, nothing stands
    r = client.post(f"/api/reviews/{lead_review['id']}/undo", headers=lead.headers)
    assert r.status_code == 200, r.text
    page = signed_in(people["annotator"]).get("/me").text
    assert _rows(page, "annotation") == [a2, a1] and _verdicts(page) == ["accepted", "rejected"]
    assert "Second look" not in page
    r = client.post(f"/api/reviews/{accepted['id']}/undo", headers=reviewer.headers)
    assert r.status_code == 200, r.text
    assert _rows(signed_in(people["annotator"]).get("/me").text, "annotation") == [a1]
    # a deleted annotation leaves the list (as it leaves GET /api/annotations/{id}/reviews)
    r = client.delete(f"/api/annotations/{a1}", headers=people["annotator"].headers)
    assert r.status_code == 204, r.text
    page = signed_in(people["annotator"]).get("/me").text
    assert _rows(page, "annotation") == [] and "No reviews of your annotations yet." in page


def test_lead_sees_the_reviews_of_own_annotations(client, signed_in, people, project):
    anns = _annotate(client, people, project["id"], ["lead", "annotator"])
    _review(client, people["reviewer"], anns["lead"][0], "accept", "Fine.")
    _review(client, people["reviewer"], anns["annotator"][0], "reject", "Not the lead's.")
    page = signed_in(people["lead"]).get("/me").text
    assert _rows(page, "annotation") == anns["lead"] and "Not the lead" not in page
    assert "Fine." in page and "Accepted" in page


def test_pagination_filter_and_one_statement_per_page(client, signed_in, people, project, db):
    who = ["annotator"] * 53
    anns = _annotate(client, people, project["id"], who)["annotator"]
    rejected = set(anns[::4])  # 14 of them
    for a in anns:
        if a in rejected:
            _review(client, people["reviewer"], a, "reject", f"fix {a}")
        else:
            _review(client, people["reviewer"], a, "accept")
    c = signed_in(people["annotator"])
    first = c.get("/me").text
    assert _rows(first, "annotation") == anns[::-1][:50]  # 50 a page, newest first
    assert "1–50 of 53 reviewed annotations" in first and 'href="/me?page=2"' in first
    second = c.get("/me?page=2").text
    assert _rows(second, "annotation") == anns[::-1][50:]
    assert c.get("/me?page=3").status_code == 404
    small = c.get("/me?page=2&page_size=5").text
    assert _rows(small, "annotation") == anns[::-1][5:10]

    only = c.get("/me?status=rejected").text
    assert _rows(only, "annotation") == sorted(rejected, reverse=True)
    assert set(_verdicts(only)) == {"rejected"} and "of 14 reviewed annotations" in only
    assert '<a href="/me?status=rejected" aria-current="page">Rejected</a>' in only
    assert c.get("/me?status=rejected&page_size=5&page=3").text.count("data-verdict") == 4
    assert c.get("/me?status=fixed").text.count("None of your annotations is fixed") == 1
    assert c.get("/me?status=bogus").status_code == 400
    assert c.get("/me?page=0").status_code == 400

    # the reviews cost the same statements whether a page holds 50 rows or 3
    with counting_queries(db) as full:
        assert c.get("/me").status_code == 200
    with counting_queries(db) as short:
        assert c.get("/me?page=2").status_code == 200
    assert len(full) == len(short)
    reviews = [s for s in full if "reviews" in s.lower() and "annotations" in s.lower()]
    assert len(reviews) == 1, reviews


def _numbers(html: str) -> set[int]:
    """Every number a reader or a script could pick out of the page, the CSRF token and the
    review times left out."""
    html = re.sub(r'(name="csrf_token" value|name="csrf-token" content)="[^"]*"', "", html)
    html = re.sub(r"<time[^>]*>[^<]*</time>", "", html)
    html = re.sub(r"\?v=[\w.+-]+", "", html)  # the static files' version
    return {int(n) for n in re.findall(r"\d+", html)}


def test_hand_in_score_and_hints_without_honeypots_or_gt(
    client,
    signed_in,
    people,
    pool,
):
    honeypot_settings(client, people, pool, per_job=2, max_attempts=3)
    ann = people["annotator"]
    job = make_job(client, people, pool, pool["plain"][:3])
    hp = set(honeypots_of(client, people, job["id"]))
    assert len(hp) == 2
    _answer(client, ann, job["id"], hp, [box(10, 10, 20, 20, "Zebra", id="a1")])
    c = signed_in(ann)
    before = c.get("/me").text
    assert "Not handed in yet" in before and "5 of 5" in before
    fb = client.post(f"/api/jobs/{job['id']}/submit", headers=ann.headers).json()
    assert fb["status"] == "needs_fixes" and fb["score"] == 0.0
    # a reviewed plain task of the job is listed like any other
    seen = job_aliases(client, job["id"])  # the ids the annotator knows the job's tasks by
    plain_ann = client.get(
        f"/api/tasks/{seen[pool['plain'][0]]}/annotations", headers=ann.headers
    ).json()[0]["id"]
    _review(client, people["reviewer"], plain_ann, "reject", "Too small.")

    page = c.get("/me").text
    row = page.split(f'data-job="{job["id"]}"')[1].split("</tr>")[0]
    assert 'data-status="needs_fixes"' in page and "Needs fixes" in row
    assert "Your score on the checks: <strong>0 %</strong> (target 80 %)." in row
    assert "Confused Elephant with Zebra." in row
    assert "2 attempts left" in row
    assert set(fb["hints"]) == set(re.findall(r"<li>([^<]*)</li>", row))
    assert _rows(page, "annotation") == [plain_ann] and "Too small." in page
    # nothing tells the honeypots apart: no id of one, no flag, no GT
    hp_seen = {seen[t] for t in hp}
    assert hp_seen.isdisjoint(_numbers(page)), hp_seen & _numbers(page)
    assert hp.isdisjoint(_numbers(page)), hp & _numbers(page)
    assert seen[pool["plain"][0]] in _numbers(page)  # the check above does see task ids
    lowered = page.lower()
    assert "honeypot" not in lowered and "ground truth" not in lowered
    assert "ground_truth" not in lowered and '"g1"' not in page and '"g2"' not in page


@chromium.marks[0]
@chromium.marks[1]
def test_annotator_opens_my_work_from_the_header_and_reads_the_comment(
    live_server, client, people, project
):
    anns = _annotate(client, people, project["id"], ["annotator", "annotator"])["annotator"]
    _review(client, people["reviewer"], anns[0], "accept")
    _review(client, people["reviewer"], anns[1], "reject", "The zebra's tail is not a zebra.")
    tasks = [_task_of(client, people, a) for a in anns]
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "Tuesday batch", "task_ids": tasks, "assignees": [people["annotator"].id]},
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    with chromium.new_page(1200, 800) as page:
        page.goto(f"{live_server}/login")
        page.fill("input[name=email]", people["annotator"].email)
        page.fill("input[name=password]", people["annotator"].password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server}/")
        page.click("#my-work-link")
        page.wait_for_url(f"{live_server}/me")
        job = page.locator("table.my-jobs tbody tr")
        assert job.count() == 1 and "Tuesday batch" in job.inner_text()
        # the rejected annotation is back in the queue to fix (#18): one of two needs nothing
        assert "1 of 2" in job.inner_text() and "Not handed in yet" in job.inner_text()
        rows = page.locator("table.my-reviews tbody tr")
        assert rows.count() == 2
        first = rows.nth(0)
        assert first.locator(".badge").inner_text() == "Rejected"
        assert first.locator(".comment").inner_text() == "The zebra's tail is not a zebra."
        chromium.shot(page, "my-work", full_page=True)
        page.click("#my-review-filter >> text=Rejected")
        page.wait_for_url(f"{live_server}/me?status=rejected")
        assert page.locator("table.my-reviews tbody tr").count() == 1
        alias = job_aliases(client, r.json()["id"])[tasks[1]]
        page.click(f"table.my-reviews a[href='/tasks/{alias}']")
        page.wait_for_url(re.compile(r".*/tasks/\d+$"))


def _task_of(client, people, ann_id: int) -> int:
    r = client.get(f"/api/annotations/{ann_id}", headers=people["annotator"].headers)
    assert r.status_code == 200, r.text
    return r.json()["task"]
