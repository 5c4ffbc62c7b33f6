"""Drift in the server: alerts on a synthetic confidence shift, quiet on a stable stream;
thresholds in drift settings; the reference set; one query per table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import update

from assay.store.models import Prediction
from builders import box, counting_queries

MONDAY = datetime(2026, 6, 1, 12, tzinfo=UTC)
PER_WEEK = 250


def _week_scores(rng, shifted_from: int | None) -> list[np.ndarray]:
    """Four weeks of confidences: Beta(8, 2), from week `shifted_from` on Beta(3, 3)."""
    return [
        rng.beta(3, 3, PER_WEEK)
        if shifted_from is not None and w >= shifted_from
        else rng.beta(8, 2, PER_WEEK)
        for w in range(4)
    ]


@pytest.fixture
def streams(client, people, project, db):
    """Model v1 shifts in week 3 (index 2); model v2 stays the same for four weeks."""
    rng = np.random.default_rng(19)
    lead = people["lead"].headers
    weeks = {"v1": _week_scores(rng, 2), "v2": _week_scores(rng, None)}
    for version, per_week in weeks.items():
        for w, scores in enumerate(per_week):
            items = [
                {
                    "data": {"image": f"{version}-{w}-{i}.jpg"},
                    "predictions": [
                        {
                            "result": [box(10, 10, 5, 5, score=float(s))],
                            "score": float(s),
                            "model_version": version,
                        }
                    ],
                }
                for i, s in enumerate(scores)
            ]
            r = client.post(
                f"/api/projects/{project['id']}/import?return_task_ids=true",
                json=items,
                headers=lead,
            )
            assert r.status_code == 201, r.text
            with db.session() as s:
                s.execute(
                    update(Prediction)
                    .where(Prediction.task_id.in_(r.json()["task_ids"]))
                    .values(created_at=MONDAY + timedelta(weeks=w, days=w % 3))
                )
    return project["id"]


def _drift(client, people, project_id, **query):
    r = client.get(
        f"/api/projects/{project_id}/drift", params=query, headers=people["lead"].headers
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_a_confidence_shift_fires_alerts_and_a_stable_stream_stays_quiet(client, people, streams):
    shifted = _drift(client, people, streams, model_version="v1", window="week")
    assert [w["start"] for w in shifted["windows"]] == [
        "2026-06-01",
        "2026-06-08",
        "2026-06-15",
        "2026-06-22",
    ]
    assert [w["n"] for w in shifted["windows"]] == [PER_WEEK] * 4
    assert shifted["reference"]["kind"] == "first_window"
    assert shifted["windows"][0]["is_reference"]
    kinds = [sorted(a["kind"] for a in w["alerts"]) for w in shifted["windows"]]
    assert kinds == [[], [], ["ks", "mean_drop", "psi"], ["ks", "mean_drop", "psi"]]
    assert shifted["alerts"] == 6
    week3 = shifted["windows"][2]
    assert week3["mean_confidence"] < shifted["windows"][0]["mean_confidence"] - 0.2
    assert sum(week3["histogram"]) == PER_WEEK and len(week3["histogram"]) == 10

    stable = _drift(client, people, streams, model_version="v2", window="week")
    assert [w["alerts"] for w in stable["windows"]] == [[], [], [], []]
    assert all(w["psi"] < 0.2 and w["ks_pvalue"] > 0.01 for w in stable["windows"])

    days = _drift(client, people, streams, model_version="v2", window="day")
    assert [w["start"] for w in days["windows"]][:2] == ["2026-06-01", "2026-06-09"]


def test_the_reference_is_chosen_by_model_version_or_dates(client, people, streams):
    by_version = _drift(client, people, streams, model_version="v1", reference_model_version="v2")
    assert by_version["reference"]["n"] == 4 * PER_WEEK
    assert [bool(w["alerts"]) for w in by_version["windows"]] == [False, False, True, True]
    # the shifted weeks as reference: now the early weeks differ (mean rose: no drop alert)
    by_dates = _drift(
        client,
        people,
        streams,
        model_version="v1",
        reference_from="2026-06-15",
        reference_to="2026-06-28",
    )
    assert by_dates["reference"]["n"] == 2 * PER_WEEK
    early = by_dates["windows"][0]["alerts"]
    assert sorted(a["kind"] for a in early) == ["ks", "psi"]
    assert not by_dates["windows"][3]["alerts"]


def test_thresholds_come_from_the_drift_settings(client, people, streams):
    lead = people["lead"].headers
    url = f"/api/projects/{streams}/drift-settings"
    assert client.get(url, headers=lead).json() == {
        "psi_threshold": 0.2,
        "ks_p_threshold": 0.01,
        "mean_drop_threshold": 0.1,
    }
    for body, field in (
        ({"psi_threshold": -1}, "psi_threshold"),
        ({"ks_p_threshold": 1.5}, "ks_p_threshold"),
        ({"mean_drop_threshold": "big"}, "mean_drop_threshold"),
        ({"psi_threshold": 0.3, "ks_p_threshold": 0}, "ks_p_threshold"),
        ({"colour": 1}, "colour"),
    ):
        r = client.patch(url, json=body, headers=lead)
        assert r.status_code == 400, r.text
        assert field in r.json()["validation_errors"], r.json()
    assert client.get(url, headers=lead).json()["psi_threshold"] == 0.2  # nothing half-written
    r = client.patch(
        url,
        json={"psi_threshold": 50, "ks_p_threshold": 1e-300, "mean_drop_threshold": 1},
        headers=lead,
    )
    assert r.status_code == 200, r.text
    quiet = _drift(client, people, streams, model_version="v1")
    assert [w["alerts"] for w in quiet["windows"]] == [[], [], [], []]


def test_bad_queries_are_refused_naming_the_parameter(client, people, streams):
    lead = people["lead"].headers
    for query, field in (
        ({}, "model_version"),  # two versions: which?
        ({"model_version": "v9"}, "model_version"),
        ({"model_version": "v1", "window": "month"}, "window"),
        ({"model_version": "v1", "reference_from": "June"}, "reference_from"),
        ({"model_version": "v1", "reference_model_version": "v0"}, "reference_model_version"),
        ({"model_version": "v1", "reference_from": "2030-01-01"}, "reference_from"),
    ):
        r = client.get(f"/api/projects/{streams}/drift", params=query, headers=lead)
        assert r.status_code == 400, (query, r.text)
        assert field in r.json()["validation_errors"], (query, r.json())


def test_one_query_per_table(client, people, streams, db):
    with counting_queries(db) as statements:
        _drift(client, people, streams, model_version="v1", window="day")
    touching = [s for s in statements if "FROM predictions" in s]
    assert len(touching) == 1, touching
    assert len([s for s in statements if "FROM quality_scores" in s]) == 1
    assert len([s for s in statements if "FROM job_tasks" in s]) == 1


def test_the_dashboard_shows_the_latest_models_drift(client, people, streams, signed_in):
    lead = people["lead"]
    dash = client.get(f"/api/projects/{streams}/dashboard", headers=lead.headers).json()
    assert {"project": streams, **dash["drift"]} == _drift(
        client, people, streams, model_version="v2"
    )
    page = signed_in(people["reviewer"]).get(f"/projects/{streams}/dashboard")
    assert page.status_code == 200
    table = page.text.split('id="dash-drift-table"')[1].split("</table>")[0]
    assert table.count("<tr") == 5 and 'class="alert"' not in table  # header + 4 quiet weeks
