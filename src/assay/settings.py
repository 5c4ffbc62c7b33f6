"""Server settings, declared once: env vars (ASSAY_*), `assay serve --help` and docs read them."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of an assay server; each field is an `ASSAY_<NAME>` environment variable."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_", extra="ignore")

    data_dir: Path = Field(
        Path("./assay-data"),
        description="Folder for the SQLite file, the stored secret key and uploaded media.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; default sqlite:///<data_dir>/assay.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    host: str = Field("127.0.0.1", description="Address `assay serve` listens on.")
    port: int = Field(8080, description="Port `assay serve` listens on.")
    secret_key: str = Field(
        "",
        description="Signs session cookies and CSRF tokens; generated and stored in "
        "<data_dir>/secret_key on first start when unset.",
    )
    media_root: Path | None = Field(
        None,
        description="Folder of local images served under /data/; default <data_dir>/media.",
    )
    export_root: Path | None = Field(
        None,
        description="Folder of export snapshot files; default <data_dir>/exports. Background "
        "workers write where the requesting server's folder is: replicas and workers on other "
        "machines must see it at the same path.",
    )
    max_body_mb: float = Field(200.0, description="Largest request body accepted, in MiB.")
    body_timeout_s: float = Field(
        60.0,
        description="A request whose body sends no byte for this many seconds is answered "
        "408 and closed (a stall, not a total: slow uploads that keep going are fine); 0: never.",
    )
    session_max_age_s: int = Field(14 * 24 * 3600, description="Web login lifetime in seconds.")
    background_queue: str = Field(
        "auto",
        description="Who runs background jobs: thread (in this process), procrastinate "
        "(PostgreSQL's queue, run by `assay worker` processes), or auto: procrastinate on "
        "PostgreSQL, thread on SQLite.",
    )
    embedded_worker: bool = Field(
        True,
        description="With the procrastinate queue, `assay serve` also runs a worker itself; "
        "set false when dedicated `assay worker` processes do the work.",
    )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'assay.db'}"

    @property
    def resolved_media_root(self) -> Path:
        return (self.media_root or self.data_dir / "media").resolve()

    @property
    def resolved_export_root(self) -> Path:
        return (self.export_root or self.data_dir / "exports").resolve()

    def resolved_secret_key(self) -> str:
        """The configured key, else the one stored beside the data, created on first call."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        path.write_text(key)
        path.chmod(0o600)
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
