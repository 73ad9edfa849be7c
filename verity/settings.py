"""Verity's settings, read from `VERITY_*` environment variables and an optional `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can configure. Defaults give the embedded archive: SQLite and a
    local folder under `data_dir`, nothing else to run."""

    model_config = SettingsConfigDict(env_prefix="VERITY_", env_file=".env", extra="ignore")

    data_dir: Path = Path("./verity-data")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file `verity.db` in data_dir."
    )

    blob_backend: Literal["local", "s3"] = "local"
    blob_dir: Path | None = Field(default=None, description="Local object store; default: data_dir/blobs.")
    s3_endpoint: str | None = Field(default=None, description="host:port of the S3 server.")
    s3_bucket: str = "verity"
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_secure: bool = Field(default=True, description="Use TLS to reach the S3 server.")
    s3_region: str | None = None

    max_upload_bytes: int = Field(default=20 * 1024**3, gt=0)
    upload_idle_hours: float = Field(
        default=72, gt=0, description="Unfinished resumable uploads nobody has added to this long are deleted."
    )
    orphan_original_grace_hours: float = Field(
        default=24,
        gt=0,
        description="An original no clip refers to (its upload's process died between placing and recording "
        "it) is deleted by the hourly sweep once nobody has written it for this long.",
    )
    upload_stall_seconds: float = Field(
        default=120,
        gt=0,
        description="A chunk of a resumable upload whose client sends nothing for this long is dropped.",
    )

    keyframe_every_s: float = Field(default=10.0, gt=0, description="At least one keyframe this often.")
    scene_threshold: float = Field(default=0.3, gt=0, lt=1, description="ffmpeg scene score for a new scene.")
    thumbnail_max_side: int = Field(default=640, ge=32, le=4096)
    sample_fps: float = Field(default=2.0, gt=0, le=30, description="Frame samples per second for fingerprints.")
    sample_size: int = Field(default=64, ge=16, le=256, description="Frame samples are this many pixels square.")
    ffprobe_timeout_s: float = Field(default=60, gt=0)
    decode_timeout_s: float = Field(default=3 * 3600, gt=0, description="Longest one decode pass may run.")
    ffmpeg_memory_mb: int = Field(default=3072, ge=256, description="Address-space limit for ffmpeg/ffprobe.")
    ingest_workers: int = Field(
        default=1, ge=1, description="Clips analysed at once by the in-process runner, or by each `verity worker`."
    )
    job_runner: Literal["inprocess", "procrastinate"] = Field(
        default="inprocess",
        description="Where ingest jobs run: threads of the API process, or `verity worker` processes fed "
        "through procrastinate's queue in the same PostgreSQL.",
    )
    worker_stalled_after_s: float = Field(
        default=30,
        ge=1,
        description="A `verity worker` silent (no heartbeat) this long is presumed dead: its job is failed "
        "and its clip queued again; should it wake, its claim on the clip is gone and it writes nothing. "
        "Workers send a heartbeat every third of it.",
    )
    work_dir: Path | None = Field(default=None, description="Scratch space for ingest; default data_dir/work.")

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'verity.db').resolve()}"

    def resolved_blob_dir(self) -> Path:
        return (self.blob_dir or self.data_dir / "blobs").resolve()

    def resolved_work_dir(self) -> Path:
        return (self.work_dir or self.data_dir / "work").resolve()
