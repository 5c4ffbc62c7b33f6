"""Server settings, declared once: env vars (ASSAY_*), `assay serve --help` and docs read them."""

from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
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
    shared_media: str = Field(
        "",
        description="Comma-separated folders under the media root whose images any project's "
        "tasks may show (e.g. shared,datasets/coco); default none: a task shows local media only "
        "from its own project's folder, <media_root>/project-<id>/.",
    )
    thumbnail_root: Path | None = Field(
        None,
        description="Folder of the cached thumbnails of local images (made on first request, "
        "256 px on the longest side); default <data_dir>/thumbnails. Safe to delete: they are "
        "made again.",
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
    import_max_files: int = Field(
        200_000,
        description="Most files one label-file import (API or CLI) may hold, counting every "
        "member of its zips, read or not.",
    )
    import_max_unpacked_mb: float = Field(
        1024.0,
        description="Most MiB of label files one import reads, after unzipping, summed over its "
        "files and zips; they are held in memory while the import runs.",
    )
    import_max_file_mb: float = Field(
        512.0, description="Most MiB of one label file of an import, after unzipping."
    )
    session_max_age_s: int = Field(
        14 * 24 * 3600,
        description="Web login lifetime in seconds, from sign-in; logging out, a password "
        "change or deactivation ends a login earlier (logins are kept in the database).",
    )
    secure_cookies: Literal["auto", "true", "false"] = Field(
        "auto",
        description="Give the session cookie the Secure flag (sent over HTTPS only): auto when "
        "the request came over HTTPS (TLS to this server, or X-Forwarded-Proto: https from a "
        "trusted proxy), true always (a TLS proxy that is not trusted), false never.",
    )
    trusted_proxies: str = Field(
        "127.0.0.1",
        description="Comma-separated addresses (or CIDR networks, or *) of reverse proxies whose "
        "X-Forwarded-For and X-Forwarded-Proto are believed: they give the client's address "
        "(login throttling) and whether it used HTTPS (secure cookies). Empty: believe none.",
    )
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
    stalled_after_s: float = Field(
        300.0,
        gt=0,
        description="A running background job whose worker has not beaten for this many "
        "seconds is failed as stalled (its worker died), so it can be started again; workers "
        "beat every tenth of it, at most every 30 s. Give every server and worker the same "
        "value, far above the longest transaction of a job on SQLite.",
    )

    @field_validator("shared_media")
    @classmethod
    def _plain_folders(cls, value: str) -> str:
        folders = [f.strip().strip("/") for f in value.split(",") if f.strip().strip("/")]
        for folder in folders:
            parts = folder.split("/")
            if "\\" in folder or any(p in ("", ".", "..") for p in parts):
                raise ValueError(f"{folder!r} is not a plain folder path under the media root")
        return ",".join(folders)

    @property
    def shared_media_folders(self) -> tuple[str, ...]:
        """ASSAY_SHARED_MEDIA as folder paths relative to the media root, without slashes."""
        return tuple(f for f in self.shared_media.split(",") if f)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'assay.db'}"

    @property
    def resolved_media_root(self) -> Path:
        return (self.media_root or self.data_dir / "media").resolve()

    @property
    def resolved_thumbnail_root(self) -> Path:
        return (self.thumbnail_root or self.data_dir / "thumbnails").resolve()

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
