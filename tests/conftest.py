"""Fixtures: one migrated database per test run and xdist worker (SQLite file or a PostgreSQL
database of its own), emptied between tests; the real ASGI app; users of every role; a project
and a honeypot pool; a live server for SDK and browser.

The tests are arranged by layer: unit/ (pure: geometry, metrics, formats, property tests; no
database), services/ (services called with a session), api/ (HTTP, label-studio-sdk, CLI),
web/ (server-rendered pages through TestClient), browser/ (Chromium), crash/ (real server and
worker processes killed with SIGKILL mid-work). What they build and read is in builders.py, the
Chromium machinery in chromium.py; tests import those, never conftest.

ASSAY_TEST_DB=sqlite (default) or postgresql selects the database; ASSAY_TEST_PG_URL points at the
PostgreSQL server (default postgresql+psycopg://postgres@127.0.0.1:5432/test).

Property tests draw the same examples on every run (hypothesis profile "suite", derandomized),
so `make test` and CI give the same answer for the same code; `make fuzz` draws fresh examples
(profile "fuzz") to look for new counterexamples, each of which becomes a plain test.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient
from hypothesis import settings as hypothesis_settings
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher
from sqlalchemy import text

import chromium
from assay.app import create_app, wire_services
from assay.services import background, users
from assay.settings import Settings
from assay.store import (  # the models' modules: their tables join Base's metadata
    bookkeeping,  # noqa: F401
    diagnosis_models,  # noqa: F401
    drift_models,  # noqa: F401
    evaluation_models,  # noqa: F401
    guideline_models,  # noqa: F401
    migrate,
    models,  # noqa: F401
    suspect_models,  # noqa: F401
)
from assay.store.base import Base
from assay.store.db import Database
from builders import HONEYPOT_GT, RECT_CONFIG, Person, log_in, make_temp_database

hypothesis_settings.register_profile("suite", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("fuzz", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("ASSAY_HYPOTHESIS_PROFILE", "suite"))


# argon2 at its smallest cost: the same code path as the server's, without ~0.25 s per hash
# (test_users_admin.py::test_server_hashes_with_recommended_argon2 keeps the real cost).
CHEAP_PASSWORD_HASH = PasswordHash((Argon2Hasher(time_cost=1, memory_cost=8, parallelism=1),))


@pytest.fixture(scope="session", autouse=True)
def services_wired() -> None:
    """Label changes rescore on commit and background kinds run, as in the server."""
    wire_services()


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashes() -> Iterator[None]:
    before = users.use_password_hasher(CHEAP_PASSWORD_HASH)
    yield
    users.use_password_hasher(before)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Consecutive browser tests share one Chromium (chromium.py); any other test stops it first."""
    if item.get_closest_marker("browser") is None:
        chromium.close()


def pytest_sessionfinish(session: pytest.Session) -> None:
    chromium.close()


@pytest.fixture(scope="session")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    temp = make_temp_database(tmp_path_factory.mktemp("db"))
    db = Database.connect(temp.url)
    migrate.upgrade(db.engine)
    yield db
    db.dispose()
    temp.drop()  # type: ignore[operator]


def empty_all_tables(db: Database) -> None:
    """Every table of the models empty and every id counting from 1 again, as in a new database.

    Only the tables that hold rows are emptied, by DELETE in foreign-key order, and only the
    id sequences a test used are restarted: a TRUNCATE of all tables on PostgreSQL makes new
    files for each of them and took 0.1-0.4 s per test, this takes about 0.02 s.
    """
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with db.engine.begin() as conn:
        has_rows = " UNION ALL ".join(
            f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {name})" for name in tables
        )
        filled = {row[0] for row in conn.execute(text(has_rows))}
        for name in tables:
            if name in filled:
                conn.execute(text(f"DELETE FROM {name}"))
        if db.engine.dialect.name == "postgresql":
            for sequence in conn.execute(_USED_SEQUENCES, {"tables": tables}).scalars():
                conn.execute(text(f'ALTER SEQUENCE "{sequence}" RESTART'))
        elif _has_sqlite_sequence(conn):
            conn.execute(text("DELETE FROM sqlite_sequence"))


# The sequences owned by the given tables that have handed out a value since their last restart
# (pg_sequences.last_value is NULL until then).
_USED_SEQUENCES = text(
    """SELECT seq.relname FROM pg_class seq
    JOIN pg_depend dep ON dep.objid = seq.oid AND dep.classid = 'pg_class'::regclass
        AND dep.refclassid = 'pg_class'::regclass
    JOIN pg_class tab ON tab.oid = dep.refobjid
    JOIN pg_sequences ps ON ps.sequencename = seq.relname AND ps.schemaname = current_schema()
    WHERE seq.relkind = 'S' AND tab.relname = ANY(:tables) AND ps.last_value IS NOT NULL"""
)


def _has_sqlite_sequence(conn) -> bool:
    return (
        conn.execute(text("SELECT 1 FROM sqlite_master WHERE name='sqlite_sequence'")).first()
        is not None
    )


@pytest.fixture
def db(database: Database) -> Iterator[Database]:
    empty_all_tables(database)
    yield database
    background.drain_thread_queue(timeout=60)  # a test's jobs end with it


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        secret_key="test-secret-key-not-for-production",
        background_queue="thread",  # services/test_background_queue.py covers procrastinate
    )


@pytest.fixture
def app(db: Database, settings: Settings):
    return create_app(settings, db=db, run_migrations=False)


@pytest.fixture
def client(app) -> Iterator[TestClient]:
    with TestClient(app) as c:
        yield c


@pytest.fixture
def people(db: Database) -> dict[str, Person]:
    """One user per role, plus a second annotator: admin, lead, reviewer, annotator, annotator2."""
    out = {}
    with db.session() as s:
        for key, role in [
            ("admin", "admin"),
            ("lead", "lead"),
            ("reviewer", "reviewer"),
            ("annotator", "annotator"),
            ("annotator2", "annotator"),
        ]:
            email = f"{key}@example.com"
            user, token = users.create_user(s, email, role, password=f"{key}-password")
            out[key] = Person(user.id, email, role, token, f"{key}-password")
    return out


@pytest.fixture
def live_server(app) -> Iterator[str]:
    """The app served over real HTTP on a free loopback port, for SDKs and the browser.

    The socket is bound here and handed to uvicorn, so two xdist workers never race for a port.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture
def project(client: TestClient, people: dict[str, Person]) -> dict:
    """A project created by the lead, with the annotators and reviewer as members."""
    r = client.post(
        "/api/projects/",
        json={"title": "Survey", "label_config": RECT_CONFIG},
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    p = r.json()
    for key in ("reviewer", "annotator", "annotator2"):
        r = client.post(
            f"/api/projects/{p['id']}/members",
            json={"user": people[key].id},
            headers=people["lead"].headers,
        )
        assert r.status_code == 201, r.text
    return p


@pytest.fixture
def pool(client, people, project):
    """20 plain tasks and 10 tasks with GT (HONEYPOT_GT), all 10 in the honeypot pool."""
    lead = people["lead"].headers
    ids = client.post(
        f"/api/projects/{project['id']}/import?return_task_ids=true",
        json=[{"image": f"{i}.jpg", "kind": "a" if i < 30 else "b"} for i in range(30)],
        headers=lead,
    ).json()["task_ids"]
    plain, gt = ids[:20], ids[20:]
    for t in gt:
        r = client.post(
            f"/api/tasks/{t}/annotations",
            json={"result": HONEYPOT_GT, "ground_truth": True},
            headers=lead,
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"/api/dm/actions?id=add_to_honeypots&project={project['id']}",
        json={"selectedItems": {"all": True}},
        headers=lead,
    )
    assert r.status_code == 200, r.text
    assert (r.json()["changed"], r.json()["skipped"]) == (10, 20)
    return {"project": project["id"], "plain": plain, "gt": gt}


@pytest.fixture
def signed_in(app):
    """make(person): a TestClient with its own cookie jar, signed in as that person."""
    opened: list[TestClient] = []

    def make(person: Person) -> TestClient:
        c = TestClient(app)
        opened.append(c)
        r = log_in(c, person)
        assert r.status_code == 303, r.text
        return c

    yield make
    for c in opened:
        c.close()
