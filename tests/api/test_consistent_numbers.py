"""Consistent numbers (issue #18, item 5): each count means the same wherever a user meets it."""

from __future__ import annotations

import json

from sqlalchemy import select
from typer.testing import CliRunner

from assay.cli import app as cli_app
from assay.store.models import Prediction
from builders import HONEYPOT_GT as GT
from builders import box, header_counts, honeypots_of, job_aliases, make_job, merge
from builders import honeypot_settings as settings


def _annotate_without_job(client, person, task_ids, hp, honeypot_result):
    """Label Studio API style: one annotation per task, no `"job"` in the body."""
    for t in task_ids:
        result = honeypot_result if t in hp else [box(1, 1, 3, 3)]
        r = client.post(
            f"/api/tasks/{t}/annotations", json={"result": result}, headers=person.headers
        )
        assert r.status_code == 201, r.text


def test_work_made_without_job_counts_for_the_job_everywhere(client, people, pool):
    settings(client, people, pool, per_job=2, max_attempts=3)
    ann = people["annotator"]
    job = make_job(client, people, pool, pool["plain"][:4])
    url = f"/api/jobs/{job['id']}"
    aliases = job_aliases(client, job["id"])  # the annotator knows the tasks by alias
    hp = {aliases[t] for t in honeypots_of(client, people, job["id"])}
    tasks = client.get(url, headers=ann.headers).json()["task_ids"]
    assert len(tasks) == 6
    _annotate_without_job(client, ann, tasks, hp, GT)
    # the queue, the job's progress and My work agree: every task is annotated
    nxt = client.get(f"{url}/next", headers=ann.headers).json()
    assert nxt["complete"] and nxt["remaining"] == 0
    prog = client.get(url, headers=ann.headers).json()["progress"]
    assert (prog["annotated"], prog["total"], prog["fully_annotated"]) == (6, 6, True)
    lead_prog = client.get(url, headers=people["lead"].headers).json()["progress"]
    assert lead_prog["annotated"] == 6
    # and the hand-in scores the answers the annotator gave
    fb = client.post(f"{url}/submit", headers=ann.headers).json()
    assert fb["status"] == "accepted" and fb["score"] == 1.0


def test_hand_in_refuses_while_tasks_are_unannotated_and_burns_no_attempt(client, people, pool):
    settings(client, people, pool, per_job=2, max_attempts=3)
    ann = people["annotator"]
    job = make_job(client, people, pool, pool["plain"][:4])
    url = f"/api/jobs/{job['id']}"
    aliases = job_aliases(client, job["id"])
    hp = {aliases[t] for t in honeypots_of(client, people, job["id"])}
    tasks = client.get(url, headers=ann.headers).json()["task_ids"]
    _annotate_without_job(client, ann, tasks[:3], hp, GT)
    r = client.post(f"{url}/submit", headers=ann.headers)
    assert r.status_code == 409
    assert "3 of 6 tasks" in r.json()["detail"] and "unannotated" in r.json()["detail"]
    fb = client.get(f"{url}/feedback", headers=ann.headers).json()
    assert fb["status"] == "open" and fb["attempts"] == [] and fb["attempts_left"] == 3


# -- consensus results are a kind of their own ---------------------------------------------------


def _three_annotated_tasks(client, people, project):
    ids = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"data": {"image": f"{i}.jpg"}} for i in range(3)],
        headers=people["lead"].headers,
    ).json()["task_ids"]
    for t in ids:
        for who in ("annotator", "annotator2"):
            r = client.post(
                f"/api/tasks/{t}/annotations",
                json={"result": [box(10, 10, 20, 20, "Zebra")]},
                headers=people[who].headers,
            )
            assert r.status_code == 201, r.text
    return ids


def test_consensus_results_are_not_counted_as_annotations(client, people, project, signed_in):
    lead = people["lead"].headers
    ids = _three_annotated_tasks(client, people, project)
    merge(client, people["lead"], project["id"])
    # counts: 6 annotations by people, the 3 merged results apart
    assert (
        client.get(f"/api/projects/{project['id']}", headers=lead).json()[
            "total_annotations_number"
        ]
        == 6
    )
    listing = client.get(f"/api/tasks?project={project['id']}", headers=lead).json()
    assert listing["total_annotations"] == 6
    assert {t["total_annotations"] for t in listing["tasks"]} == {2}
    dm = client.get(
        "/api/tasks",
        params={"project": project["id"], "query": '{"filters": {"conjunction": "and", "items": [{"filter": '
                '"filter:tasks:total_annotations", "operator": "equal", "type": "Number", '
                '"value": 2}]}}'},
        headers=lead,
    ).json()  # fmt: skip
    assert dm.get("total") == 3, dm
    # the Label Studio API marks each annotation's kind
    task = client.get(f"/api/tasks/{ids[0]}", headers=lead).json()
    assert task["total_annotations"] == 2
    kinds = sorted(a["kind"] for a in task["annotations"])
    assert kinds == ["annotation", "annotation", "consensus"]
    listed = client.get(f"/api/tasks/{ids[0]}/annotations", headers=lead).json()
    assert sorted(a["kind"] for a in listed) == ["annotation", "annotation", "consensus"]
    # the task table's Review column counts people's work only, the task page lists it apart
    page = signed_in(people["lead"]).get(f"/projects/{project['id']}")
    assert page.status_code == 200
    assert header_counts(page.text)["Annotations"] == "6"
    task_page = signed_in(people["lead"]).get(f"/tasks/{ids[0]}").text
    assert 'Annotations <span class="muted">(2)</span>' in task_page
    assert 'Consensus <span class="muted">(1)</span>' in task_page


def test_evaluate_lists_no_unknown_annotator_for_consensus(client, people, project, tmp_path):
    lead = people["lead"].headers
    ids = _three_annotated_tasks(client, people, project)
    for t in ids:
        client.post(
            f"/api/tasks/{t}/annotations",
            json={"result": [box(10, 10, 20, 20, "Zebra")], "ground_truth": True},
            headers=lead,
        )
    merge(client, people["lead"], project["id"])
    export = client.get(f"/api/projects/{project['id']}/export?exportType=JSON", headers=lead)
    assert export.status_code == 200
    path = tmp_path / "export.json"
    path.write_bytes(export.content)
    result = CliRunner().invoke(
        cli_app, ["evaluate", "--gt", str(path), "--pred", str(path), "--json"]
    )
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    names = {(r["kind"], r["name"]) for r in rows}
    assert ("annotator", "unknown") not in names
    assert ("consensus", "consensus") in names


# -- two measures, two names ---------------------------------------------------------------------


def test_pairwise_agreement_and_consensus_support_are_named_apart(
    client, people, project, signed_in
):
    lead = people["lead"].headers
    (t,) = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"data": {"image": "x.jpg"}}],
        headers=lead,
    ).json()["task_ids"]
    # same box, different labels: pairwise accuracy 0, yet each backs half the consensus
    for who, label in (("annotator", "Zebra"), ("annotator2", "Elephant")):
        client.post(
            f"/api/tasks/{t}/annotations",
            json={"result": [box(10, 10, 20, 20, label)]},
            headers=people[who].headers,
        )
    merge(client, people["lead"], project["id"])
    pairwise = client.get(f"/api/tasks/{t}/agreement", headers=lead).json()
    support = client.get(f"/api/tasks/{t}/consensus", headers=lead).json()["agreement"]
    browser = signed_in(people["lead"])
    table = browser.get(f"/projects/{project['id']}").text
    assert ">Pairwise agreement</th>" in table and ">Agreement</th>" not in table
    assert "consensus support" in table.lower()  # the merge dialog's threshold
    task_page = browser.get(f"/tasks/{t}").text
    assert f"consensus support {100 * support:.0f} %" in task_page
    assert "· agreement" not in task_page
    dashboard = browser.get(f"/projects/{project['id']}/dashboard").text
    assert ">Agreement</th>" not in dashboard
    assert pairwise["agreement"] == 0.0 and support == 0.5  # metrics.md's worked example


# -- what each consensus weighting sends to adjudication, before merging ------------------------


def test_preview_counts_what_each_weighting_sends_to_adjudication(client, people, project):
    lead = people["lead"].headers
    gt_task, tie = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"data": {"image": f"{i}.jpg"}} for i in range(2)],
        headers=lead,
    ).json()["task_ids"]
    zebra, elephant = box(10, 10, 20, 20, "Zebra"), box(10, 10, 20, 20, "Elephant")
    client.post(
        f"/api/tasks/{gt_task}/annotations",
        json={"result": [zebra], "ground_truth": True},
        headers=lead,
    )
    # annotator 1 is right on the GT task, annotator 2 wrong; on `tie` their votes tie
    for t, (one, two) in ((gt_task, (zebra, elephant)), (tie, (zebra, elephant))):
        for who, result in (("annotator", one), ("annotator2", two)):
            r = client.post(
                f"/api/tasks/{t}/annotations",
                json={"result": [result]},
                headers=people[who].headers,
            )
            assert r.status_code == 201, r.text
    url = f"/api/projects/{project['id']}/consensus/preview"
    r = client.post(url, json={"tasks": [tie], "adjudicate_below": 0.5}, headers=lead)
    assert r.status_code == 200, r.text
    counts = r.json()["weightings"]
    assert set(counts) == {"uniform", "accuracy", "dawid_skene"}
    assert counts["uniform"] == {
        "tasks": 1, "merged": 0, "adjudicate": 1, "tied": 1, "accepted": 0
    }  # fmt: skip
    assert counts["accuracy"]["adjudicate"] == 0 and counts["accuracy"]["merged"] == 1
    # nothing was stored; the merge then does what the preview said
    assert client.get(f"/api/tasks/{tie}/consensus", headers=lead).json()["status"] is None
    assert merge(client, people["lead"], project["id"], tasks=[tie])["adjudicate"] == 1
    done = merge(client, people["lead"], project["id"], tasks=[tie], weighting="accuracy")
    assert done["adjudicate"] == 0
    # bad settings are refused naming the field; weighting is not a preview's input
    bad = client.post(url, json={"adjudicate_below": 2}, headers=lead)
    assert bad.status_code == 400 and "adjudicate_below" in bad.json()["validation_errors"]
    assert client.post(url, json={"weighting": "uniform"}, headers=lead).status_code == 400


# -- a starred annotation stays its author's work ------------------------------------------------


def test_starring_an_annotation_as_gt_keeps_it_the_authors_work(client, people, project):
    lead = people["lead"].headers
    ids = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"data": {"image": f"{i}.jpg"}} for i in range(2)],
        headers=lead,
    ).json()["task_ids"]
    mine = {}
    for t in ids:
        for who, x in (("annotator", 10), ("annotator2", 11)):
            r = client.post(
                f"/api/tasks/{t}/annotations",
                json={"result": [box(x, 10, 20, 20, "Zebra")]},
                headers=people[who].headers,
            )
            mine[(t, who)] = r.json()["id"]

    def numbers():
        dash = client.get(f"/api/projects/{project['id']}/dashboard", headers=lead).json()
        rows = {r["annotator"]: r for r in dash["annotators"]}
        agreement = [
            client.get(f"/api/tasks/{t}/agreement", headers=lead).json()["agreement"] for t in ids
        ]
        return (
            rows[people["annotator"].id]["annotations"],
            rows[people["annotator"].id]["agreement"],
            agreement,
        )

    before = numbers()
    assert before[0] == 2 and None not in before[2]
    r = client.patch(
        f"/api/annotations/{mine[(ids[0], 'annotator')]}",
        json={"ground_truth": True},
        headers=lead,
    )
    assert r.status_code == 200, r.text
    assert numbers() == before
    # the lead's own answer key (made as GT) is no one's work: the lead gets no row
    client.post(
        f"/api/tasks/{ids[1]}/annotations",
        json={"result": [box(10, 10, 20, 20, "Zebra")], "ground_truth": True},
        headers=lead,
    )
    dash = client.get(f"/api/projects/{project['id']}/dashboard", headers=lead).json()
    assert people["lead"].id not in {r["annotator"] for r in dash["annotators"]}
    assert numbers()[:2] == before[:2]


# -- importing a detector's predictions again replaces them ------------------------------------


def test_importing_the_same_predictions_twice_replaces_them(client, people, project):
    lead = people["lead"].headers
    ids = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"data": {"image": f"{i}.jpg"}} for i in range(3)],
        headers=lead,
    ).json()["task_ids"]
    url = f"/api/projects/{project['id']}/import/predictions"
    detector = [
        {"task": t, "model_version": "det-v1", "score": 0.9, "result": [box(10, 10, 20, 20)]}
        for t in ids[:2]
    ]
    other = [{"task": ids[0], "model_version": "det-v2", "result": [box(30, 30, 5, 5)]}]
    first = client.post(url, json=detector + other, headers=lead)
    assert first.status_code == 201 and first.json() == {"created": 3, "replaced": 0}
    old = {
        p["id"]
        for p in client.get(f"/api/predictions?task={ids[0]}", headers=lead).json()
        if p["model_version"] == "det-v1"
    }
    again = client.post(url, json=detector, headers=lead)
    assert again.status_code == 201 and again.json() == {"created": 2, "replaced": 2}

    def versions(t):
        preds = client.get(f"/api/predictions?task={t}", headers=lead).json()
        return sorted(p["model_version"] for p in preds)

    assert versions(ids[0]) == ["det-v1", "det-v2"]  # another version is left alone
    assert versions(ids[1]) == ["det-v1"] and versions(ids[2]) == []
    project_json = client.get(f"/api/projects/{project['id']}", headers=lead).json()
    assert project_json["total_predictions_number"] == 3
    # the replaced rows are kept, soft-deleted: gone from the API, not from the database
    (old_id,) = old
    assert client.get(f"/api/predictions/{old_id}", headers=lead).status_code == 404


def test_replaced_predictions_are_kept_in_the_database(client, people, project, db):
    lead = people["lead"].headers
    (t,) = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"data": {"image": "x.jpg"}}],
        headers=lead,
    ).json()["task_ids"]
    url = f"/api/projects/{project['id']}/import/predictions"
    body = [{"task": t, "model_version": "det-v1", "result": [box(10, 10, 20, 20)]}]
    client.post(url, json=body, headers=lead)
    client.post(url, json=body, headers=lead)
    with db.session(write=False) as s:
        rows = s.execute(select(Prediction.deleted_at, Prediction.deleted_by_id)).all()
    assert len(rows) == 2
    assert sorted(r.deleted_by_id is not None for r in rows) == [False, True]


# -- honeypot rotation: difficulty from enough scores, exposure balanced ----------------------


def test_rotation_serves_unexposed_honeypots_before_showing_one_again(client, people, pool):
    settings(client, people, pool, per_job=3)
    first = make_job(client, people, pool, pool["plain"][:3], who=("annotator",))
    shown = set(honeypots_of(client, people, first["id"]))
    _answer = [box(10, 10, 20, 20, "Elephant", id="a"), box(50, 50, 10, 10, "Zebra", id="b")]
    job_tasks = client.get(f"/api/jobs/{first['id']}", headers=people["annotator"].headers)
    for t in job_tasks.json()["task_ids"]:
        client.post(
            f"/api/tasks/{t}/annotations",
            json={"job": first["id"], "result": _answer if t in shown else []},
            headers=people["annotator"].headers,
        )
    # one person's answers do not rate a honeypot: it stays unrated, and fills any level
    rows = client.get(
        f"/api/projects/{pool['project']}/honeypots", headers=people["lead"].headers
    ).json()["results"]
    assert {r["difficulty"] for r in rows if r["task"] in shown} == {"unrated"}
    second = make_job(client, people, pool, pool["plain"][3:6], who=("annotator2",))
    again = set(honeypots_of(client, people, second["id"]))
    assert len(again) == 3 and not again & shown  # seven honeypots were never shown yet
    health = client.get(
        f"/api/projects/{pool['project']}/honeypots/health", headers=people["lead"].headers
    ).json()
    assert health["by_difficulty"]["unrated"] == 10
