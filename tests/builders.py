"""What the tests build and read, shared by every folder: the label config and regions, people,
tasks and jobs made through the API, signing in, the HTML of server-rendered pages, counting SQL
statements, images to label and scratch databases. Tests import them (`from builders import
box`); the fixtures are in conftest.py. tests/ is on sys.path (pytest's `pythonpath` in
pyproject.toml), so the import works from every folder and for a single file.
"""

from __future__ import annotations

import io
import os
import re
import struct
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path, PurePosixPath
from xml.sax.saxutils import quoteattr
from zipfile import ZIP_DEFLATED, ZipFile

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, event, select, text
from sqlalchemy.engine import make_url

from assay.services import projects, tasks, users
from assay.services.access import Actor, Role
from assay.services.tasks import annotations
from assay.store.db import Database
from assay.store.models import JobTask, QualityAggregate, QualityScore, Task

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
FIXTURES = TESTS / "fixtures"

PG_URL = os.environ.get("ASSAY_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
BACKEND = os.environ.get("ASSAY_TEST_DB", "sqlite")


# -- people and labels ----------------------------------------------------------------------------


@dataclass
class Person:
    id: int
    email: str
    role: str
    token: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}


RECT_CONFIG = """<View>
  <Image name="image" value="$image"/>
  <RectangleLabels name="label" toName="image">
    <Label value="Elephant"/><Label value="Zebra"/><Label value="Giraffe"/>
  </RectangleLabels>
</View>"""


def box(x: float, y: float, w: float, h: float, label: str = "Elephant", **extra: object) -> dict:
    """A Label Studio rectangle region, percent units."""
    return {
        "from_name": "label",
        "to_name": "image",
        "type": "rectanglelabels",
        "original_width": 1600,
        "original_height": 1200,
        "value": {
            "x": x,
            "y": y,
            "width": w,
            "height": h,
            "rotation": 0,
            "rectanglelabels": [label],
        },
        **extra,
    }


# -- a project, tasks and annotations through the services (no HTTP) ------------------------------


def actor_of(person: Person) -> Actor:
    return Actor(person.id, Role(person.role), person.email)


def survey(db: Database, people: dict[str, Person], n_tasks: int) -> tuple[int, list[int]]:
    """A project of the lead with every other person as member, and `n_tasks` images."""
    lead = actor_of(people["lead"])
    with db.session() as s:
        project = projects.create_project(s, lead, title="Survey", label_config=RECT_CONFIG)
        for key in ("reviewer", "annotator", "annotator2"):
            projects.add_member(s, lead, project.id, people[key].id)
        items = [{"data": {"image": f"/data/img_{i}.png"}} for i in range(n_tasks)]
        made = tasks.import_tasks(s, lead, project.id, items)
        return project.id, made.task_ids


def annotate(db: Database, person: Person, task_id: int, regions: list, gt: bool = False) -> int:
    """An annotation by `person` (the GT when `gt`), made through the services; its id."""
    with db.session() as s:
        made = annotations.create_annotation(s, actor_of(person), task_id, regions, ground_truth=gt)
        return made.id


# -- tasks, jobs and background jobs through the API ----------------------------------------------


def import_tasks(client: TestClient, lead: Person, project_id: int, items: list) -> list[int]:
    r = client.post(
        f"/api/projects/{project_id}/import?return_task_ids=true", json=items, headers=lead.headers
    )
    assert r.status_code == 201, r.text
    return r.json()["task_ids"]


def add_member(
    db: Database, client: TestClient, lead: Person, project_id: int, key: str, role: str
) -> Person:
    """A new user `<key>@example.com` with the role, added to the project by the lead."""
    with db.session() as s:
        user, token = users.create_user(s, f"{key}@example.com", role, password=f"{key}-password")
    r = client.post(
        f"/api/projects/{project_id}/members", json={"user": user.id}, headers=lead.headers
    )
    assert r.status_code == 201, r.text
    return Person(user.id, f"{key}@example.com", role, token, f"{key}-password")


def wait_for_job(client: TestClient, headers: dict[str, str], job_id: int) -> dict:
    """Poll a background job until it is done or failed; its final state."""
    for _ in range(400):
        job = client.get(f"/api/background-jobs/{job_id}", headers=headers).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.05)
    raise AssertionError("background job did not finish")


def aliases_of(client, lead, person, job_id) -> dict[int, int]:
    """Real task id -> the id `person` (an annotator of the job) knows it by: the job's task
    list as the lead reads it (real ids) and as the person reads it (aliases), in job order."""
    real = client.get(f"/api/jobs/{job_id}", headers=lead.headers)
    seen = client.get(f"/api/jobs/{job_id}", headers=person.headers)
    assert real.status_code == seen.status_code == 200, (real.text, seen.text)
    return dict(zip(real.json()["task_ids"], seen.json()["task_ids"], strict=True))


def alias_of(client, lead, person, job_id, task_id) -> int:
    """The id `person` knows the job's task `task_id` by (`aliases_of`)."""
    return aliases_of(client, lead, person, job_id)[task_id]


def annotate_job(client, person, job_id, x=10.0, label="Elephant"):
    """The annotator works through their queue of the job; returns the annotation ids."""
    made = []
    while True:
        nxt = client.get(f"/api/jobs/{job_id}/next", headers=person.headers).json()
        if nxt["complete"]:
            return made
        r = client.post(
            f"/api/tasks/{nxt['task']['id']}/annotations",
            json={"job": job_id, "result": [box(x, 10, 5, 5, label=label)]},
            headers=person.headers,
        )
        assert r.status_code == 201, r.text
        made.append(r.json()["id"])


# -- honeypots: a pool of tasks with GT (the `pool` fixture), settings, jobs and answers --------


HONEYPOT_GT = [box(10, 10, 20, 20, "Elephant", id="g1"), box(50, 50, 10, 10, "Zebra", id="g2")]


def honeypot_settings(client, people, pool, **values):
    r = client.patch(
        f"/api/projects/{pool['project']}/honeypot-settings",
        json=values,
        headers=people["lead"].headers,
    )
    assert r.status_code == 200, r.text
    return r.json()


def make_job(client, people, pool, tasks, who=("annotator",), **extra):
    r = client.post(
        f"/api/projects/{pool['project']}/jobs",
        json={"title": "j", "task_ids": tasks, "assignees": [people[w].id for w in who], **extra},
        headers=people["lead"].headers,
    )
    assert r.status_code == 201, r.text
    return r.json()


def honeypots_of(client, people, job_id):
    r = client.get(f"/api/jobs/{job_id}/honeypots", headers=people["lead"].headers)
    assert r.status_code == 200, r.text
    return [h["task"] for h in r.json()["results"]]


def job_aliases(client, job_id) -> dict[int, int]:
    """Real task id -> alias of the job's tasks, read from the database of the client's app."""
    with client.app.state.db.session() as s:
        rows = s.execute(select(JobTask.task_id, JobTask.alias).where(JobTask.job_id == job_id))
        return dict(rows.all())


def answer_job(client, person, job_id, honeypot_ids, honeypot_result):
    """Work through the queue: GT-like answers on normal tasks, `honeypot_result` on honeypots
    (`honeypot_ids`: real ids, as the lead reads them; the annotator sees aliases)."""
    aliases = job_aliases(client, job_id)
    honeypot_ids = {aliases.get(t, t) for t in honeypot_ids}
    while True:
        nxt = client.get(f"/api/jobs/{job_id}/next", headers=person.headers).json()
        if nxt["complete"]:
            return
        t = nxt["task"]["id"]
        result = honeypot_result if t in honeypot_ids else [box(1, 1, 3, 3)]
        r = client.post(
            f"/api/tasks/{t}/annotations",
            json={"job": job_id, "result": result},
            headers=person.headers,
        )
        assert r.status_code == 201, r.text


# -- consensus: two annotators who tie on a box's label ---------------------------------------------


ZEBRA, ELEPHANT = box(10, 15, 20, 20, "Zebra"), box(10, 15, 20, 20, "Elephant")
GIRAFFE = box(60, 50, 15, 20, "Giraffe")


def merge(client, lead, project_id: int, **body) -> dict:
    """Run a consensus merge through the API and wait for its background job; its result."""
    r = client.post(f"/api/projects/{project_id}/consensus/merge", json=body, headers=lead.headers)
    assert r.status_code == 202, r.text
    job = wait_for_job(client, lead.headers, r.json()["id"])
    assert job["status"] == "done", job
    return job["result"]


# -- signing in through the login form -------------------------------------------------------------


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def log_in(client: TestClient, person: Person, next_: str | None = None):
    """Sign in through the login form (CSRF token included); the answer to the POST."""
    page = client.get("/login", params={"next": next_} if next_ else None)
    assert page.status_code == 200
    return client.post(
        "/login",
        data={
            "email": person.email,
            "password": person.password,
            "csrf_token": csrf_of(page.text),
            "next": next_ or "",
        },
        follow_redirects=False,
    )


# -- reading server-rendered pages -----------------------------------------------------------------


class ParsedPage(HTMLParser):
    """Table header and body rows (cell texts), <img> sources and application/json scripts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.headers: list[str] = []
        self.rows: list[list[str]] = []
        self.images: list[dict[str, str | None]] = []
        self.json_scripts: dict[str, str] = {}
        self._in_head = False
        self._in_body = False
        self._cell: list[str] | None = None
        self._script: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag in ("thead", "tbody"):
            self._in_head, self._in_body = tag == "thead", tag == "tbody"
        elif tag == "tr" and self._in_body:
            self.rows.append([])
        elif (tag == "td" and self._in_body) or (tag == "th" and self._in_head):
            self._cell = []
        elif tag == "img":
            self.images.append(a)
        elif tag == "script" and a.get("type") == "application/json":
            self._script = a.get("id") or ""
            self.json_scripts[self._script] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in ("thead", "tbody"):
            self._in_head = self._in_body = False
        elif tag in ("td", "th") and self._cell is not None:
            text = " ".join("".join(self._cell).split())
            (self.rows[-1] if tag == "td" else self.headers).append(text)
            self._cell = None
        elif tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._script is not None:
            self.json_scripts[self._script] += data

    @property
    def records(self) -> list[dict[str, str]]:
        """The body rows as {header text: cell text}."""
        return [dict(zip(self.headers, row, strict=True)) for row in self.rows]


COUNT_RE = re.compile(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>")


def header_counts(html: str) -> dict[str, str]:
    """The project page's header counts, {"Tasks": "55", ...}."""
    return dict(COUNT_RE.findall(html))


def by_task(page: ParsedPage) -> dict[str, dict[str, str]]:
    return {r["Task"]: r for r in page.records}


# -- the database ----------------------------------------------------------------------------------


@contextmanager
def counting_queries(db) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@dataclass
class TempDatabase:
    url: str
    drop: object  # callable


def make_temp_database(tmp_dir: Path, backend: str = BACKEND) -> TempDatabase:
    """An empty database of its own: a SQLite file, or a fresh PostgreSQL database."""
    if backend == "sqlite":
        return TempDatabase(
            url=f"sqlite:///{tmp_dir / f'assay-{uuid.uuid4().hex[:8]}.db'}", drop=lambda: None
        )
    name = f"assay_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
        # A test database need not survive a crash of the server: commits do not wait for the
        # disk (what each transaction sees is unchanged).
        conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return TempDatabase(url=url, drop=drop)


# -- images ----------------------------------------------------------------------------------------


def survey_image(path: Path, width: int, height: int, seed: int, fmt: str = "PNG") -> None:
    """A field with a few grey animals: something to draw boxes on."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (196 - seed * 9, 214, 176 + seed * 5))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 3 // 4, width, height), fill=(168, 146, 104))
    for i in range(6):
        cx = (width * (i * 37 + seed * 11) // 230) % width
        cy = (height * (i * 53 + seed * 7) // 190) % height
        r = max(6, width // 40)
        draw.ellipse((cx - r, cy - r // 2, cx + r, cy + r // 2), fill=(92 + i * 8, 92, 98))
    for x in range(0, width, max(1, width // 12)):
        draw.line((x, 0, x, height), fill=(180, 200, 160), width=max(1, width // 800))
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format=fmt, quality=85)


# -- a seeded answer key, for round trips through other tools (supervision, label-studio-sdk) -----

TRUTH_CLASSES = ("African elephant", "Zèbre de Grévy", "Grant's gazelle", "キリン")
# file names with '#', spaces, accents and brackets, as field teams name their images
TRUTH_NAMES = ("herd #{i}.png", "zèbre {i} (copy).png", "Élan #{i} ñ.png", "plain_{i:03}.png")


@dataclass(frozen=True)
class TruthImage:
    """One image of a seeded truth: its file name, size, boxes and their labels.

    xyxy: (N, 4) float64, [x_min, y_min, x_max, y_max] in continuous pixels, origin top-left.
    """

    name: str
    width: int
    height: int
    xyxy: np.ndarray
    labels: tuple[str, ...]


def seeded_truth(
    seed: int, n_images: int, classes: tuple[str, ...] = TRUTH_CLASSES
) -> dict[str, TruthImage]:
    """File name -> `TruthImage`: odd sizes (301-999 x 201-777), images 0 and 3 without
    objects, image 1 with boxes on the four borders and one covering the whole image, image 2
    with one-pixel boxes (in both corners, and a one-pixel-wide line from top to bottom), the
    rest 0 to 6 boxes of 1 to 60 px, half on whole pixels, half fractional."""
    rng = np.random.default_rng(seed)
    out = {}
    for i in range(n_images):
        w, h = 2 * int(rng.integers(150, 500)) + 1, 2 * int(rng.integers(100, 389)) + 1
        if i in (0, 3):
            boxes = np.zeros((0, 4))
        elif i == 1:
            boxes = np.array([[0, 0, 40.5, 30], [w - 25, h - 17.25, w, h], [0, 100, w, 130],
                              [200, 0, 260, h], [0, 0, w, h]], dtype=float)  # fmt: skip
        elif i == 2:
            boxes = np.array([[0, 0, 1, 1], [w - 1, h - 1, w, h], [17, 23, 18, 24],
                              [5, 0, 6, h]], dtype=float)  # fmt: skip
        else:
            n = int(rng.integers(0, 7))
            size = rng.uniform(1, 60, (n, 2))
            x0, y0 = rng.uniform(0, w - size[:, 0]), rng.uniform(0, h - size[:, 1])
            boxes = np.stack([x0, y0, x0 + size[:, 0], y0 + size[:, 1]], axis=1)
            whole = rng.random(n) < 0.5
            boxes[whole] = np.floor(boxes[whole])
            boxes[whole, 2:] = np.maximum(boxes[whole, 2:], boxes[whole, :2] + 1)
        name = TRUTH_NAMES[i % len(TRUTH_NAMES)].format(i=i)
        labels = tuple(classes[int(c)] for c in rng.integers(0, len(classes), len(boxes)))
        out[name] = TruthImage(name, w, h, boxes.reshape(-1, 4), labels)
    return out


def write_truth_images(truth: dict[str, TruthImage], folder: Path) -> dict[str, Path]:
    """One plain PNG per image of the truth, of its size; file name -> path."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for i, image in enumerate(truth.values()):
        out[image.name] = folder / image.name
        Image.new("RGB", (image.width, image.height), (90 + i, 120, 60)).save(out[image.name])
    return out


def rect_config(labels: tuple[str, ...]) -> str:
    """A label config of one RectangleLabels control `label` over image `image`."""
    values = "".join(f"<Label value={quoteattr(v)}/>" for v in labels)
    return (
        '<View><Image name="image" value="$image"/><RectangleLabels name="label" toName="image">'
        f"{values}</RectangleLabels></View>"
    )


def truth_result(image: TruthImage) -> list[dict]:
    """The Label Studio result (percent of the image's size) of a truth image's boxes."""
    w, h = image.width, image.height
    return [
        box(x0 / w * 100, y0 / h * 100, (x1 - x0) / w * 100, (y1 - y0) / h * 100, label,
            original_width=w, original_height=h, id=f"t{k}")
        for k, ((x0, y0, x1, y1), label) in enumerate(zip(image.xyxy.tolist(), image.labels,
                                                          strict=True))
    ]  # fmt: skip


def box_errors(
    truth: TruthImage, xyxy: np.ndarray, labels: list[str] | tuple[str, ...]
) -> np.ndarray:
    """Absolute corner differences (N, 4) in pixels, row i for the truth's box i, between a
    truth image's boxes and boxes some tool read back, after checking that both have the same
    labels; the boxes are paired by label, then by position."""
    xyxy = np.asarray(xyxy, dtype=np.float64).reshape(-1, 4)
    assert len(xyxy) == len(labels)

    def order(boxes: np.ndarray, names: Sequence[str]) -> list[int]:
        return sorted(range(len(names)), key=lambda i: (names[i], tuple(boxes[i])))

    mine, theirs = order(truth.xyxy, truth.labels), order(xyxy, labels)
    assert [labels[i] for i in theirs] == [truth.labels[i] for i in mine], truth.name
    errors = np.zeros((len(truth.labels), 4))
    errors[mine] = np.abs(xyxy[theirs] - truth.xyxy[mine])
    return errors


def truth_project(
    db: Database,
    lead: Person,
    truth: dict[str, TruthImage],
    media: Path,
    classes: tuple[str, ...] = TRUTH_CLASSES,
) -> int:
    """A project of the lead, labels `classes`, whose answer key is the truth: its images
    registered in place from `media`/herds (`media` is the media root; herds/ a shared media
    folder), each with a GT annotation of the truth's boxes (an empty one for an image without
    objects). The project's id."""
    write_truth_images(truth, media / "herds")
    actor = actor_of(lead)
    with db.session() as s:
        project = projects.create_project(
            s, actor, title="Herds", label_config=rect_config(classes)
        )
        made = tasks.register_images(
            s, actor, project.id, media / "herds", media, shared_media=("herds",)
        )
        names = {i: PurePosixPath(s.get(Task, i).media_path).name for i in made.task_ids}
        project_id = project.id
    for task_id, name in names.items():
        annotate(db, lead, task_id, truth_result(truth[name]), gt=True)
    return project_id


# -- zips, honest and not ------------------------------------------------------------------------


def make_zip(members: dict[str, bytes]) -> bytes:
    """A deflated zip of the members (name -> content)."""
    buffer = io.BytesIO()
    with ZipFile(buffer, "w", ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buffer.getvalue()


def zip_lying(
    data: bytes, member: str, *, size: int | None = None, crc: int | None = None
) -> bytes:
    """The zip with its central directory's uncompressed size or CRC of `member` replaced
    (zipfile trusts the central directory)."""
    out = bytearray(data)
    at = out.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack_from("<H", out, at + 28)[0]
        if out[at + 46 : at + 46 + name_len].decode() == member:
            if size is not None:
                struct.pack_into("<L", out, at + 24, size)
            if crc is not None:
                struct.pack_into("<L", out, at + 16, crc)
            return bytes(out)
        at = out.find(b"PK\x01\x02", at + 4)
    raise KeyError(member)


# -- quality, as stored ------------------------------------------------------------------


def quality_state(db, project_id: int) -> tuple[list, list, list]:
    """Every score, aggregate and task agreement of the project, in a comparable form."""
    with db.session(write=False) as s:
        scores = sorted(
            (r.task_id, r.subject_kind, r.subject_key, r.tp, r.fp, r.fn, round(r.accuracy, 9))
            for r in s.scalars(select(QualityScore).where(QualityScore.project_id == project_id))
        )
        aggregates = sorted(
            # float sums rounded: parts on two workers add them in another order
            (r.group_kind, r.group_key, r.label, r.n, r.tp, r.fp, r.fn, r.matched, *_sums(r))
            for r in s.scalars(
                select(QualityAggregate).where(QualityAggregate.project_id == project_id)
            )
        )
        agreement = sorted(
            (t, None if a is None else round(a, 9))
            for t, a in s.execute(
                select(Task.id, Task.agreement).where(Task.project_id == project_id)
            )
        )
    return scores, aggregates, agreement


def _sums(row: QualityAggregate) -> tuple[float, float]:
    return round(row.iou_sum, 6), round(row.accuracy_sum, 6)
