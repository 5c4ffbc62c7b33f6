"""Suspected GT errors (services.suspects): planted errors come out on top with the right kind
and evidence; dismissing keeps one away until its evidence changes; confirming fixes the GT
through the GT edit (a new revision, rescored, the reason in the history); honeypots under
suspicion sit out of rotation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from assay.services import honeypots, jobs, suspects
from assay.services.errors import Invalid, NotFound
from assay.services.quality import diagnosis
from assay.store.models import Annotation, GroundTruthChange, QualityScore
from assay.store.suspect_models import GtSuspectDecision
from builders import actor_of, annotate, box, survey

RATERS = ("annotator", "annotator2", "reviewer")


def _truth():
    return [
        box(10, 10, 10, 10, "Elephant", id="a"),
        box(40, 10, 10, 10, "Zebra", id="b"),
        box(10, 50, 10, 10, "Giraffe", id="c"),
    ]


def _planted(db, people, n_tasks=4):
    """Task 0's GT has every kind of error: region b is labelled Elephant (swapped), region c
    is shifted (badloc), a region d nobody sees (spurious), and lacks an object at 70,70
    (missing). The other tasks' GT agrees with everyone."""
    pid, ids = survey(db, people, n_tasks)
    bad = [
        box(10, 10, 10, 10, "Elephant", id="a"),
        box(40, 10, 10, 10, "Elephant", id="b"),
        box(13, 53, 10, 10, "Giraffe", id="c"),
        box(80, 40, 8, 8, "Zebra", id="d"),
    ]
    gt_ids = {}
    for i, t in enumerate(ids):
        gt_ids[t] = annotate(db, people["lead"], t, bad if i == 0 else _truth(), gt=True)
        for k, who in enumerate(RATERS):
            jitter = 0.3 * k
            work = [box(r["value"]["x"] + jitter, r["value"]["y"], 10, 10,
                        r["value"]["rectanglelabels"][0], id=f"{who}-{r['id']}")
                    for r in _truth()]  # fmt: skip
            if i == 0:
                work.append(box(70 + jitter, 70, 10, 10, "Zebra", id=f"{who}-new"))
            annotate(db, people[who], t, work)
    return pid, ids, gt_ids


def _listed(db, people, pid):
    with db.session() as s:
        rows, _ = suspects.list_suspects(s, actor_of(people["lead"]), pid, 1, 100)
        return [
            {"task": t.task_id, "kind": x.kind, "region": x.region_id, "key": x.key,
             "score": x.score, "evidence": x.evidence}
            for t in rows for x in t.suspects
        ]  # fmt: skip


def test_each_planted_kind_is_found_on_the_task_with_the_errors_and_nowhere_else(db, people):
    pid, ids, _ = _planted(db, people)
    found = _listed(db, people, pid)
    assert {x["task"] for x in found} == {ids[0]}
    kinds = {(x["kind"], x["region"]) for x in found}
    assert {("swapped", "b"), ("badloc", "c"), ("spurious", "d")} <= kinds
    missing = [x for x in found if x["kind"] == "missing"]
    assert len(missing) == 1 and missing[0]["score"] == 1.0
    swapped = next(x for x in found if x["kind"] == "swapped")
    assert swapped["evidence"]["suggested"] == {"label": "Zebra"}
    assert {a["label"] for a in swapped["evidence"]["annotators"]} == {"Zebra"}
    assert len(swapped["evidence"]["disagreeing"]) == 3


def test_dismissed_suspect_stays_away_until_its_evidence_changes(db, people):
    pid, ids, _ = _planted(db, people)
    key = next(x["key"] for x in _listed(db, people, pid) if x["kind"] == "swapped")
    lead = actor_of(people["lead"])
    with db.session() as s, pytest.raises(Invalid) as err:
        suspects.dismiss(s, lead, pid, key, "  ")
    assert "reason" in err.value.validation_errors
    with db.session() as s:
        suspects.dismiss(s, lead, pid, key, "Zebra and Elephant look alike here; GT is right")
    assert key not in {x["key"] for x in _listed(db, people, pid)}
    with db.session() as s:
        made = s.scalar(select(GtSuspectDecision).where(GtSuspectDecision.key == key))
        assert (made.decision, made.decided_by_id) == ("dismissed", people["lead"].id)
        assert made.reason.startswith("Zebra and Elephant")
    # a fourth annotator's opinion is new evidence: the suspect is back
    with db.session() as s:
        ann = s.scalar(select(Annotation).where(Annotation.task_id == ids[0],
                                                Annotation.completed_by_id == people["admin"].id))  # fmt: skip
        assert ann is None
    annotate(db, people["admin"], ids[0], [box(40, 10, 10, 10, "Zebra", id="x")])
    assert key in {x["key"] for x in _listed(db, people, pid)}


def test_confirm_fixes_the_gt_as_a_new_revision_rescored_with_the_reason_in_history(db, people):
    pid, ids, gt_ids = _planted(db, people)
    key = next(x["key"] for x in _listed(db, people, pid) if x["kind"] == "swapped")
    lead = actor_of(people["lead"])
    with db.session() as s:
        before = {q.annotation_id: q.gt_revision for q in s.scalars(
            select(QualityScore).where(QualityScore.task_id == ids[0]))}  # fmt: skip
        assert set(before.values()) == {1}
        decision, gt = suspects.confirm(s, lead, pid, key, "b is a zebra")
        assert (decision.decision, decision.gt_revision, gt.revision) == ("confirmed", 2, 2)
    with db.session() as s:
        gt = s.get(Annotation, gt_ids[ids[0]])
        b = next(r for r in gt.result if r["id"] == "b")
        assert b["value"]["rectanglelabels"] == ["Zebra"]
        change = s.scalars(select(GroundTruthChange).where(
            GroundTruthChange.task_id == ids[0]).order_by(GroundTruthChange.id)).all()[-1]  # fmt: skip
        assert change.action == "edited"
        assert change.note == "suspect confirmed: swapped region b: b is a zebra"
        after = {q.annotation_id: q.gt_revision for q in s.scalars(
            select(QualityScore).where(QualityScore.task_id == ids[0]))}  # fmt: skip
        assert set(after) == set(before) and set(after.values()) == {2}  # rescored on the fix
    assert "swapped" not in {x["kind"] for x in _listed(db, people, pid)}
    with db.session() as s, pytest.raises(NotFound):
        suspects.confirm(s, lead, pid, key)  # decided: gone


@pytest.mark.parametrize("kind", ["missing", "spurious", "badloc"])
def test_confirming_the_suggested_fix_clears_that_kind(db, people, kind):
    pid, _ids, _gt_ids = _planted(db, people, n_tasks=2)
    key = next(x["key"] for x in _listed(db, people, pid) if x["kind"] == kind)
    with db.session() as s:
        suspects.confirm(s, actor_of(people["lead"]), pid, key)
    assert kind not in {x["kind"] for x in _listed(db, people, pid)}


def test_honeypot_under_suspicion_leaves_rotation_until_dismissed(db, people):
    pid, ids, _ = _planted(db, people, n_tasks=6)
    lead = actor_of(people["lead"])
    pool, work = ids[:2], ids[2:]
    with db.session() as s:
        honeypots.add_to_pool(s, lead, pid, {"all": False, "included": pool}, difficulty="easy")
        honeypots.update_settings(s, lead, pid, per_job=2, min_pool_size=0)
    found = _listed(db, people, pid)  # task ids[0] is under suspicion

    def job(task_ids):
        with db.session() as s:
            made = jobs.create_job(s, lead, pid, title="J", task_ids=task_ids,
                                   assignees=[people["admin"].id])  # fmt: skip
            return honeypots.job_honeypot_ids(s, made.id)

    assert job(work[:2]) == [ids[1]]
    for x in found:
        with db.session() as s:
            suspects.dismiss(s, lead, pid, x["key"], "checked: the GT is right")
    assert job(work[2:4]) == [ids[0]]


def test_a_reviewers_gt_error_decision_makes_its_tasks_suspects_until_the_gt_is_fixed(db, people):
    """Conflict diagnosis: two annotators call GT region b (a Zebra) an Elephant on task 0;
    a reviewer's "GT error" on that group puts task 0 on top of the suspects, with the
    decision as evidence. Dismissed, it stays away
    until a new decision; a later other decision on the group, or a GT fixed after it, ends it."""
    pid, ids = survey(db, people, 3)
    lead = actor_of(people["lead"])
    for t in ids:
        annotate(db, people["lead"], t, _truth(), gt=True)
        for who in ("annotator", "annotator2"):
            work = _truth()
            if t == ids[0]:
                work[1]["value"]["rectanglelabels"] = ["Elephant"]
            annotate(db, people[who], t, work)

    def gt_error_suspects() -> list:
        with db.session() as s:
            rows, _ = suspects.list_suspects(s, lead, pid, 1, 100)
            return [(t.task_id, x) for t in rows for x in t.suspects if x.kind == "gt_error"]

    def decide(decision: str, note: str = "") -> str:
        with db.session() as s:
            groups, _ = diagnosis.groups(s, lead, pid, diagnosis.filters_of("label_pair"), 1, 50)
            [swap] = [g for g in groups if g.fields.get("kind") == "label_mismatch"]
            diagnosis.decide(s, lead, pid, swap.key, decision, note)
            return swap.key

    assert gt_error_suspects() == []
    decide("gt_error", "b is a zebra in every photo of this site")
    with db.session() as s:
        rows, _ = suspects.list_suspects(s, lead, pid, 1, 100)
    assert rows[0].task_id == ids[0] and rows[0].score == 1.0  # ranked first
    [(task, got)] = gt_error_suspects()
    assert (task, got.score, got.region_id) == (ids[0], 1.0, None)
    [said] = got.evidence["reviewer_decisions"]
    assert (said["note"], said["decided_by"], said["gt_regions"]) == (
        "b is a zebra in every photo of this site",
        people["lead"].id,
        ["b"],
    )
    with db.session() as s:  # no fix to suggest: the lead sends the corrected GT
        with pytest.raises(Invalid, match="send the corrected result"):
            suspects.confirm(s, lead, pid, got.key)
        suspects.dismiss(s, lead, pid, got.key, "the GT is right after all")
    assert gt_error_suspects() == []
    decide("gt_error", "looked again: it is wrong")  # new evidence: back
    assert [t for t, _ in gt_error_suspects()] == [ids[0]]
    decide("training_need")  # the group's latest decision is another: no longer a suspect
    assert gt_error_suspects() == []
    decide("gt_error")
    [(_, again)] = gt_error_suspects()
    fixed = _truth()
    with db.session() as s:
        suspects.confirm(s, lead, pid, again.key, "b relabelled", result=fixed[:2])
    assert gt_error_suspects() == []  # the GT changed after the decision
