"""Schemathesis over the OpenAPI document against the live server (issue #16, check #2): every
operation, with a bounded number of generated requests, valid (positive) and invalid
(negative), as the admin. No answer may be a server error, and every answer must be one the
document lists, with a body of its schema (errors in Label Studio's shape, `api.errors`).

It runs in `make test` on both databases; the examples are drawn the same way on every run
(derandomized), so a failure here is a plain bug to fix, reproduced by the curl it prints."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable

from builders import box, import_tasks, make_job

schemathesis = pytest.importorskip("schemathesis")
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = {schemathesis.GenerationMode.POSITIVE: 8, schemathesis.GenerationMode.NEGATIVE: 4}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# Would take the admin's own token away from the rest of the run.
SKIPPED = {("POST", "/api/current-user/reset-token")}
SHOWN = 20


@pytest.fixture
def labelled(client, people, project):
    """Something for the generated ids to find: tasks with annotations, a prediction, a job."""
    lead = people["lead"]
    items = [
        {"data": {"image": f"{i}.jpg"},
         "annotations": [{"result": [box(10 + i, 10, 20, 20)], "ground_truth": i == 0}],
         "predictions": [{"result": [box(12 + i, 10, 20, 20, score=0.8)], "model_version": "m"}]}
        for i in range(4)
    ]  # fmt: skip
    task_ids = import_tasks(client, lead, project["id"], items)
    make_job(client, people, {"project": project["id"]}, task_ids)
    return task_ids


def test_no_operation_answers_a_server_error_or_off_its_schema(live_server, people, labelled):
    schema = schemathesis.openapi.from_url(f"{live_server}/api/openapi.json")
    failures: list[str] = []
    operations = cases = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIPPED:
            continue
        operations += 1
        for mode, examples in EXAMPLES.items():
            cases += _exercise(operation, mode, examples, live_server, people["admin"], failures)
    assert operations > 90 and cases > 700  # the run reached every operation
    assert not failures, f"{len(failures)} of {cases} requests failed:\n" + "\n".join(
        failures[:SHOWN]
    )


def _exercise(operation, mode, examples: int, base_url: str, admin, failures: list[str]) -> int:
    """Send `examples` generated requests of one operation; append what fails; how many."""
    label = f"{operation.method.upper()} {operation.path}"
    sent = 0

    @settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every failure is kept
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def call(case) -> None:
        nonlocal sent
        sent += 1
        response = case.call(base_url=base_url, headers=admin.headers, timeout=60)
        try:
            case.validate_response(response, checks=CHECKS)
        except (AssertionError, BaseExceptionGroup) as exc:
            reason = str(exc).strip().splitlines()[0]
            curl = case.as_curl_command(headers={"Authorization": "Token ..."})
            failures.append(f"{label} -> {response.status_code}: {reason}\n  {curl}")

    with contextlib.suppress(Unsatisfiable):  # no parameters: no invalid request to make
        call()
    return sent
