"""The edge-case log (issue #19 item 4): annotators flag an ambiguous task by the id they know
it by, leads answer and resolve it with a guideline version, the version's change log lists it;
an annotator sees their own entries and the answers, nothing of others'."""

from __future__ import annotations

from sqlalchemy import delete

from assay.store.models import JobTask
from builders import aliases_of, import_tasks


def _setup(client, people, project):
    lead = people["lead"]
    tasks = import_tasks(client, lead, project["id"], [{"image": f"{i}.jpg"} for i in range(3)])
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={
            "title": "j",
            "task_ids": tasks[:2],
            "assignees": [people["annotator"].id, people["annotator2"].id],
        },
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    job = r.json()["id"]
    return tasks, {
        who: aliases_of(client, lead, people[who], job) for who in ("annotator", "annotator2")
    }


def _flag(client, person, task, comment="Is a calf behind its mother one animal or two?"):
    return client.post(
        f"/api/tasks/{task}/edge-cases", json={"comment": comment}, headers=person.headers
    )


def _log(client, person, project, query=""):
    r = client.get(f"/api/projects/{project['id']}/edge-cases{query}", headers=person.headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_annotators_flag_by_alias_and_see_only_their_own(client, people, project):
    tasks, aliases = _setup(client, people, project)
    mine = aliases["annotator"][tasks[0]]
    r = _flag(client, people["annotator"], mine)
    assert r.status_code == 201, r.text
    flagged = r.json()
    assert flagged["task"] == mine and flagged["status"] == "open"
    assert "created_by" not in flagged and "job" not in flagged
    # the real id of a task in her job names nothing for her
    if tasks[0] != mine:
        assert _flag(client, people["annotator"], tasks[0]).status_code == 404
    theirs = _flag(client, people["annotator2"], aliases["annotator2"][tasks[1]], "Zebra foal?")
    assert theirs.status_code == 201, theirs.text
    seen = _log(client, people["annotator"], project)
    assert seen["count"] == 1 and [c["task"] for c in seen["results"]] == [mine]
    lead_sees = _log(client, people["lead"], project)
    assert lead_sees["count"] == 2
    assert {c["task"] for c in lead_sees["results"]} == {tasks[0], tasks[1]}  # real ids
    assert {c["created_by"] for c in lead_sees["results"]} == {
        people["annotator"].id,
        people["annotator2"].id,
    }
    assert _log(client, people["reviewer"], project)["count"] == 2
    # bad comments name the field; nothing is written
    for body in ({}, {"comment": " "}, {"comment": "x" * 5001}, {"comment": "x", "why": 1}):
        r = client.post(
            f"/api/tasks/{mine}/edge-cases", json=body, headers=people["annotator"].headers
        )
        assert r.status_code == 400, body
        assert set(r.json()["validation_errors"]) & {"comment", "why"}, r.text
    assert _log(client, people["lead"], project)["count"] == 2


def test_answer_resolve_and_the_change_log(client, people, project):
    tasks, aliases = _setup(client, people, project)
    lead = people["lead"]
    mine = aliases["annotator"][tasks[0]]
    case = _flag(client, people["annotator"], mine).json()
    other = _flag(client, people["annotator2"], aliases["annotator2"][tasks[0]], "other").json()
    answer = f"/api/edge-cases/{case['id']}/answer"
    resolve = f"/api/edge-cases/{case['id']}/resolve"
    # annotators and reviewers neither answer nor resolve; another annotator's entry is unknown
    assert (
        client.post(answer, json={"answer": "x"}, headers=people["annotator"].headers).status_code
        == 403
    )
    assert (
        client.post(answer, json={"answer": "x"}, headers=people["reviewer"].headers).status_code
        == 403
    )
    assert (
        client.post(answer, json={"answer": "x"}, headers=people["annotator2"].headers).status_code
        == 404
    )
    assert client.post(answer, json={"answer": " "}, headers=lead.headers).status_code == 400
    r = client.post(answer, json={"answer": "Two animals, two boxes."}, headers=lead.headers)
    assert r.status_code == 200 and r.json()["status"] == "answered"
    assert [c["status"] for c in _log(client, lead, project, "?status=open")["results"]] == ["open"]
    assert _log(client, lead, project, "?status=answered")["results"][0]["id"] == case["id"]
    r = client.get(f"/api/projects/{project['id']}/edge-cases?status=closed", headers=lead.headers)
    assert r.status_code == 400 and "status" in r.json()["validation_errors"]
    # the annotator reads the answer on her own entry, by the alias she flagged it with
    own = _log(client, people["annotator"], project)["results"][0]
    assert (own["task"], own["answer"], own["status"]) == (
        mine,
        "Two animals, two boxes.",
        "answered",
    )
    # resolving needs a published version of this project's guideline
    r = client.post(resolve, json={"guideline_version": 1}, headers=lead.headers)
    assert r.status_code == 400 and "guideline_version" in r.json()["validation_errors"]
    r = client.post(
        f"/api/projects/{project['id']}/guidelines",
        json={"markdown": "# Rules\nA calf gets its own box.", "change_log": "Calves"},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    assert (
        client.post(resolve, json={"guideline_version": "1"}, headers=lead.headers).status_code
        == 400
    )
    r = client.post(resolve, json={"guideline_version": 1}, headers=lead.headers)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "resolved" and r.json()["guideline_version"] == 1
    assert (
        client.post(resolve, json={"guideline_version": 1}, headers=lead.headers).status_code == 409
    )
    assert client.post(answer, json={"answer": "late"}, headers=lead.headers).status_code == 409
    r = client.post(
        f"/api/edge-cases/{other['id']}/resolve",
        json={"guideline_version": 1, "answer": "Same as the calf."},
        headers=lead.headers,
    )
    assert r.status_code == 200 and r.json()["answer"] == "Same as the calf."
    # the version's change log lists what it resolved: all for the lead, her own for her
    v1 = client.get(f"/api/projects/{project['id']}/guidelines/1", headers=lead.headers).json()
    assert [c["id"] for c in v1["resolved_edge_cases"]] == [case["id"], other["id"]]
    hers = client.get(
        f"/api/projects/{project['id']}/guidelines", headers=people["annotator"].headers
    ).json()
    assert [c["id"] for c in hers["current"]["resolved_edge_cases"]] == [case["id"]]
    assert hers["current"]["resolved_edge_cases"][0]["task"] == mine
    assert [c["id"] for c in hers["unread_since"][0]["resolved_edge_cases"]] == [case["id"]]


def test_edge_cases_say_nothing_of_ground_truth(client, people, project):
    """A flag on a task with GT reads exactly like one on a task without."""
    tasks, aliases = _setup(client, people, project)
    lead = people["lead"]
    r = client.post(
        f"/api/tasks/{tasks[0]}/annotations",
        json={"result": [], "ground_truth": True},
        headers=lead.headers,
    )
    assert r.status_code == 201, r.text
    a = _flag(client, people["annotator"], aliases["annotator"][tasks[0]]).json()
    b = _flag(client, people["annotator"], aliases["annotator"][tasks[1]]).json()
    assert set(a) == set(b)
    assert not any("ground" in k or "honeypot" in k or "gt" in k for k in a)


def test_an_entry_whose_task_left_the_job_never_shows_its_real_id(client, db, people, project):
    """A rerolled honeypot leaves its job: the annotator's entry then names no task, where it
    used to fall back to the real id (which tells an old, GT task)."""
    tasks, aliases = _setup(client, people, project)
    mine = aliases["annotator"][tasks[0]]
    assert _flag(client, people["annotator"], mine).status_code == 201
    with db.session() as s:  # as `honeypots.rotation.reinject` takes a honeypot out of a job
        s.execute(delete(JobTask).where(JobTask.task_id == tasks[0]))
        s.commit()
    [entry] = _log(client, people["annotator"], project)["results"]
    assert entry["task"] is None
    [entry] = _log(client, people["lead"], project)["results"]
    assert entry["task"] == tasks[0]


def test_resolving_with_a_version_beyond_any_id_is_refused(client, people, project):
    tasks, aliases = _setup(client, people, project)
    case = _flag(client, people["annotator"], aliases["annotator"][tasks[0]]).json()["id"]
    for version in (2**63, -1, True, "1"):
        r = client.post(
            f"/api/edge-cases/{case}/resolve",
            json={"guideline_version": version},
            headers=people["lead"].headers,
        )
        assert r.status_code == 400 and "guideline_version" in r.text, (version, r.text)


def test_the_entries_of_one_task_by_the_id_one_knows_it_by(client, people, project):
    """`?task=` for the annotate page: an annotator names the task by its alias and gets her
    own entries on it, with the answers; its real id names nothing for her; an alias of her
    other job for the same task does not show them (it would tie the two aliases together)."""
    tasks, aliases = _setup(client, people, project)
    mine = aliases["annotator"][tasks[0]]
    first = _flag(client, people["annotator"], mine, "Calf or two?").json()
    _flag(client, people["annotator"], aliases["annotator"][tasks[1]], "Other task")
    _flag(client, people["annotator2"], aliases["annotator2"][tasks[0]], "Not hers")
    r = client.post(
        f"/api/edge-cases/{first['id']}/answer", json={"answer": "Two boxes"},
        headers=people["lead"].headers,
    )  # fmt: skip
    assert r.status_code == 200, r.text
    got = _log(client, people["annotator"], project, f"?task={mine}")
    assert [(c["task"], c["comment"], c["answer"], c["status"]) for c in got["results"]] == [
        (mine, "Calf or two?", "Two boxes", "answered")
    ]
    if tasks[0] != mine:
        r = client.get(
            f"/api/projects/{project['id']}/edge-cases?task={tasks[0]}",
            headers=people["annotator"].headers,
        )
        assert r.status_code == 404
    r = client.post(
        f"/api/projects/{project['id']}/jobs",
        json={"title": "again", "task_ids": [tasks[0]], "assignees": [people["annotator"].id]},
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    other = aliases_of(client, people["lead"], people["annotator"], r.json()["id"])[tasks[0]]
    assert other != mine
    assert _log(client, people["annotator"], project, f"?task={other}")["results"] == []
    staff = _log(client, people["lead"], project, f"?task={tasks[0]}")
    assert sorted(c["comment"] for c in staff["results"]) == ["Calf or two?", "Not hers"]
    r = client.get(
        f"/api/projects/{project['id']}/edge-cases?task=abc", headers=people["lead"].headers
    )
    assert r.status_code in (400, 422) and "task" in r.text
