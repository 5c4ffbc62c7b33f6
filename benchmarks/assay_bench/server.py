"""A fresh database and a real `assay serve` subprocess, always cleaned up.

`temp_database` yields a SQLAlchemy URL (a SQLite file, or a PostgreSQL database of its own
that is dropped on exit, even after an error). `running_server` spawns `assay serve` on a free
loopback port, times spawn -> first 200 on GET /health, and kills the process group on exit.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 15.0
HEALTH_POLL_S = 0.01
MIB = 2**20


def assay_executable() -> str:
    """The project's own `.venv/bin/assay`, else whatever `assay` is on PATH."""
    local = ROOT / ".venv" / "bin" / "assay"
    if local.exists():
        return str(local)
    found = shutil.which("assay")
    if found is None:
        raise RuntimeError("no `assay` executable: run `make bench` (it installs .venv) first")
    return found


@contextmanager
def temp_database(backend: str, tmp_dir: Path) -> Iterator[str]:
    """Yield the URL of an empty database; a PostgreSQL one is dropped on exit, whatever happens.

    PostgreSQL: `CREATE DATABASE assay_bench_<random>` through the server at ASSAY_TEST_PG_URL
    (default postgresql+psycopg://postgres@127.0.0.1:5432/test, whose database must exist).
    """
    if backend == "sqlite":
        yield f"sqlite:///{tmp_dir / 'assay.db'}"
        return
    if backend != "postgresql":
        raise ValueError(f"unknown backend {backend!r}: use sqlite or postgresql")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin_url = os.environ.get("ASSAY_TEST_PG_URL", DEFAULT_PG_URL)
    name = f"assay_bench_{secrets.token_hex(6)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def database_name(url: str) -> str | None:
    """The database part of a PostgreSQL URL (None for SQLite files)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    return parsed.database if parsed.get_backend_name() == "postgresql" else None


def cancel_queries(database: str) -> int:
    """Cancel the queries still running in a benchmark database; returns how many there were.

    After a request timed out on the client, the server goes on running its query: this
    stops it, so that it does not load the machine while the next phase is measured.
    """
    from sqlalchemy import create_engine, text

    admin = create_engine(os.environ.get("ASSAY_TEST_PG_URL", DEFAULT_PG_URL))
    try:
        with admin.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :db AND state = 'active' AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            ).all()
    finally:
        admin.dispose()
    return len(rows)


def server_env(data_dir: Path, database_url: str) -> dict[str, str]:
    """This process's environment without any ASSAY_* setting, plus the bench's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env["ASSAY_DATA_DIR"] = str(data_dir)
    env["ASSAY_DATABASE_URL"] = database_url
    return env


def add_admin(env: dict[str, str], email: str) -> str:
    """`assay user add EMAIL --role admin --token T` (migrates the database); returns T."""
    token = secrets.token_hex(20)
    cmd = [assay_executable(), "user", "add", email, "--role", "admin", "--token", token]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"`assay user add` failed ({done.returncode}): {done.stderr.strip()}")
    return token


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass(frozen=True)
class Server:
    """A running `assay serve`; `startup_s` is spawn -> first 200 on GET /health, in seconds."""

    process: subprocess.Popen[bytes]
    url: str
    startup_s: float

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        times = psutil.Process(self.process.pid).cpu_times()
        return times.user + times.system

    def settle(self, quiet_cpu_share: float = 0.1, max_wait_s: float = 60.0) -> float:
        """Wait until the server uses under `quiet_cpu_share` of a core over a second; seconds."""
        started = time.perf_counter()
        while time.perf_counter() - started < max_wait_s:
            before = self.cpu_s()
            time.sleep(1.0)
            if self.cpu_s() - before < quiet_cpu_share:
                break
        return time.perf_counter() - started

    def rss_mib(self) -> float:
        """Resident memory of the server process and any children, in MiB."""
        proc = psutil.Process(self.process.pid)
        total = proc.memory_info().rss
        for child in proc.children(recursive=True):
            with suppress(psutil.NoSuchProcess):
                total += child.memory_info().rss
        return total / MIB


@contextmanager
def running_server(env: dict[str, str], log_path: Path) -> Iterator[Server]:
    """Spawn `assay serve` in its own process group; it is killed on exit, even after an error."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [assay_executable(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with log_path.open("ab") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            startup_s = _wait_healthy(process, url, started, log_path)
            yield Server(process=process, url=url, startup_s=startup_s)
        finally:
            _stop(process)


def _wait_healthy(
    process: subprocess.Popen[bytes], url: str, started: float, log_path: Path
) -> float:
    deadline = started + START_TIMEOUT_S
    with httpx.Client(base_url=url, timeout=2.0) as client:
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"assay serve exited with {process.returncode} before answering /health:\n"
                    + _tail(log_path)
                )
            try:
                if client.get("/health").status_code == 200:
                    return time.perf_counter() - started
            except httpx.TransportError:
                pass
            if time.perf_counter() > deadline:
                raise RuntimeError(
                    f"assay serve gave no 200 on /health within {START_TIMEOUT_S:.0f} s:\n"
                    + _tail(log_path)
                )
            time.sleep(HEALTH_POLL_S)


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM (uvicorn shuts down cleanly); SIGKILL to its process group if it lingers."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        # Not yet reaped, so the id still names the group this module created for the server.
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"
