"""Verity's settings, read from `VERITY_*` environment variables and an optional `.env` file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can configure. Defaults give the embedded archive: SQLite and a
    local folder under `data_dir`, nothing else to run."""

    model_config = SettingsConfigDict(env_prefix="VERITY_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path("./verity-data"),
        description="Where the embedded archive keeps its database, objects and scratch space.",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file `verity.db` in data_dir."
    )

    blob_backend: Literal["local", "s3"] = Field(default="local", description="`local` (a folder) or `s3`.")
    blob_dir: Path | None = Field(default=None, description="Local object store; default: data_dir/blobs.")
    s3_endpoint: str | None = Field(default=None, description="`host:port` of the S3 server (MinIO, SeaweedFS, AWS …).")
    s3_bucket: str = Field(default="verity", description="Created on first use.")
    s3_access_key: str | None = Field(default=None, description="S3 credentials: the access key …")
    s3_secret_key: SecretStr | None = Field(default=None, description="… and its secret.")
    s3_secure: bool = Field(default=True, description="Use TLS to reach the S3 server.")
    s3_region: str | None = Field(default=None, description="Optional.")

    max_upload_bytes: int = Field(default=20 * 1024**3, gt=0, description="Larger uploads get 413.")
    upload_idle_hours: float = Field(
        default=72,
        gt=0,
        description="An unfinished resumable upload nobody has added to this long is deleted, chunks and all.",
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
        description="A request whose client sends nothing of its body for this long is answered 408 and "
        "nothing of it is kept (uploads, resumable chunks, files to verify, JSON bodies).",
    )

    max_json_body_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        description="Largest JSON request body (incidents, cases, links, reviews, keys, resumable uploads); "
        "a larger one is refused with 413 before it is read whole.",
    )
    max_form_field_bytes: int = Field(
        default=64 * 1024,
        gt=0,
        description="Largest text field of an upload or verify form (source, note …); a larger one gets 413. "
        "The fields' own maximum lengths (docs/input-limits.md) apply within it.",
    )

    request_threads: int = Field(
        default=32,
        ge=1,
        description="Threads for the API's blocking handlers (reads, small writes); more requests wait for "
        "one without holding anything.",
    )
    upload_threads: int = Field(
        default=32,
        ge=1,
        description="Request bodies (uploads, chunks, files to verify) hashed, stored and recorded (or "
        "analysed) at once, each on a thread of its own; further bodies wait, unread, until one finishes.",
    )
    work_threads: int = Field(
        default=8,
        ge=1,
        description="Threads for handing clips to the job runner and the hourly sweep of unfinished uploads.",
    )
    malloc_arenas: int = Field(
        default=2,
        ge=0,
        description="At most this many glibc malloc arenas in `verity serve` and `verity worker` (0: glibc's "
        "default, 8 per core): each thread's own arena keeps what it once held, so many threads cost memory.",
    )
    database_pool_size: int | None = Field(
        default=None,
        ge=1,
        description="Database connections the API keeps at most; default: one per thread that may use one "
        "(request + upload + work threads + ingest workers + 4), so no thread waits for a connection.",
    )
    database_pool_timeout_s: float = Field(
        default=30, gt=0, description="Longest a thread waits for a free database connection before failing."
    )

    keyframe_every_s: float = Field(default=10.0, gt=0, description="At least one keyframe this often.")
    scene_threshold: float = Field(
        default=0.3, gt=0, lt=1, description="ffmpeg scene score (0–1) that counts as a scene change."
    )
    thumbnail_max_side: int = Field(default=640, ge=32, le=4096, description="Longest side of keyframe thumbnails, px.")
    sample_fps: float = Field(default=2.0, gt=0, le=30, description="Frame samples per second for fingerprints.")
    sample_size: int = Field(default=64, ge=16, le=256, description="Frame samples are this many pixels square.")
    decode_skip_nonreference: bool = Field(
        default=False,
        description="Leave frames no other frame refers to undecoded when no viewing copy is encoded: about "
        "40 % less decode CPU on H.264 with B-frames, but interval keyframes move to the next decoded frame "
        "and damage confined to skipped frames goes unreported.",
    )
    ffprobe_timeout_s: float = Field(default=60, gt=0, description="Longest one ffprobe run may take.")
    ffprobe_cpu_s: int = Field(
        default=5,
        ge=1,
        description="CPU seconds one ffprobe run may use (a header built to exhaust it, e.g. 100,000 metadata "
        "tags, is refused once they are spent); needs prlimit (util-linux), else only the timeout bounds it.",
    )
    decode_timeout_s: float = Field(
        default=3 * 3600, gt=0, description="Longest one decode pass may run (and fpcalc over its sound)."
    )
    ffmpeg_memory_mb: int = Field(
        default=3072, ge=256, description="Address-space limit for ffmpeg/ffprobe (and fpcalc)."
    )
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
    work_dir: Path | None = Field(
        default=None,
        description="Scratch space for ingest; default data_dir/work. A folder per clip being analysed, "
        "removed when it ends; `serve` and `worker` remove at start those whose process died.",
    )
    c2pa_trust_anchors: Path | None = Field(
        default=None,
        description="A PEM file of the root certificates whose Content Credentials (C2PA) signers are trusted; "
        "exactly these, nothing built in. Without it an intact manifest is `signer_untrusted`. Read at each "
        "analysis, so a new list applies to clips analysed (or re-analysed) after it.",
    )
    c2pa_memory_mb: int = Field(
        default=4096,
        ge=64,
        description="Address-space limit for the Content Credentials reader (a child process). It holds the "
        "file's largest box in memory, for a video nearly the whole file: a signed file larger than about this "
        "is left `not_read`, saying so.",
    )
    c2pa_timeout_s: float = Field(default=600, gt=0, description="Longest one Content Credentials reading may take.")
    sign_in_hours: float = Field(
        default=12, gt=0, le=24 * 30, description="How long the key a sign-in (POST /api/v1/sessions) answers works."
    )
    sign_in_failures_per_account: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins to one account within VERITY_SIGN_IN_WINDOW_SECONDS after which it is refused "
        "(429 with Retry-After) until the oldest ages out; per API process.",
    )
    sign_in_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address within the window after which it is refused the same way.",
    )
    sign_in_window_seconds: int = Field(
        default=900, ge=1, description="The window over which failed sign-ins are counted."
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        max_length=2000,
        description="Addresses of the TLS-terminating proxies in front of `verity serve` whose X-Forwarded-Proto "
        "and X-Forwarded-For it believes (comma-separated IPs or networks, `*` for any): then a request that "
        "reached the proxy over TLS counts as HTTPS (sign-in cookies are Secure) and the proxy's client address "
        "is the one sign-in failures are counted for. Unset or empty: no proxy is trusted, and the headers are "
        "ignored.",
    )
    verify_analyses_per_key: int = Field(
        default=2,
        ge=1,
        description="Provenance queries with a file (POST /api/v1/verify) one API key may have running at once, "
        "per API process; beyond it the answer is 429 with Retry-After.",
    )
    verify_reveals_restricted: bool = Field(
        default=False,
        description="Whether a provenance query (/api/v1/verify) matching a clip the caller may not see says the "
        "match is held in the archive under restricted access (`restricted` in the answer, with no id, hash, "
        "time or score of it); by default it is answered as footage the archive does not hold.",
    )

    fixity_mb_per_s: float = Field(
        default=50,
        ge=0,
        description="How fast a fixity audit reads originals, in MB/s on average (0: as fast as the store "
        "answers), so an audit leaves the disk or the S3 server to ingest and downloads.",
    )
    fixity_interval_s: float = Field(
        default=86400,
        gt=0,
        description="A scheduled fixity audit starts this long after the last one started (default daily); one "
        "cut off by a restart resumes where it stopped.",
    )
    timestamp_urls: str | None = Field(
        default=None,
        description="Time-stamping authorities (RFC 3161), comma-separated, tried in order: each original's "
        "SHA-256 is stamped at ingest, and the heads of the custody and history chains are anchored under one "
        "stamp on a schedule. Unset: nothing is stamped and clips say `timestamp: not configured`.",
    )
    timestamp_ca_file: Path | None = Field(
        default=None,
        description="PEM file of the roots the authorities' answers are verified against; needed with "
        "VERITY_TIMESTAMP_URLS.",
    )
    timestamp_timeout_s: float = Field(default=10, gt=0, description="Longest one request to an authority may take.")
    timestamp_retry_initial_s: float = Field(
        default=30,
        gt=0,
        description="A stamp no authority could give (none reachable) is tried again after this long, then after "
        "twice as long each time, up to VERITY_TIMESTAMP_RETRY_MAX_S.",
    )
    timestamp_retry_max_s: float = Field(default=3600, gt=0, description="Longest wait between two tries of a stamp.")
    anchor_interval_s: float = Field(
        default=3600,
        gt=0,
        description="How often the heads of the chains that moved since their last anchor are anchored "
        "(one stamp over a Merkle root of them).",
    )

    @model_validator(mode="after")
    def _check_combination(self) -> Settings:
        """Refuse, when the settings load, combinations that could only fail later mid-request."""
        problems = []
        if self.blob_backend == "s3":
            if not self.s3_endpoint:
                problems.append("VERITY_BLOB_BACKEND=s3 needs VERITY_S3_ENDPOINT (host:port of the S3 server)")
            elif "://" in self.s3_endpoint or "/" in self.s3_endpoint:
                problems.append(
                    f"VERITY_S3_ENDPOINT is host:port, without a scheme or path (got {self.s3_endpoint!r}); "
                    "say plain HTTP with VERITY_S3_SECURE=false"
                )
            if (self.s3_access_key is None) != (self.s3_secret_key is None):
                problems.append("VERITY_S3_ACCESS_KEY and VERITY_S3_SECRET_KEY come together: set both or neither")
        if self.job_runner == "procrastinate" and not self.resolved_database_url().startswith("postgresql"):
            problems.append(
                "VERITY_JOB_RUNNER=procrastinate needs PostgreSQL (the job queue lives in the archive's database); "
                "set VERITY_DATABASE_URL to a postgresql+psycopg:// URL, or use VERITY_JOB_RUNNER=inprocess"
            )
        if self.c2pa_trust_anchors is not None:
            problems.extend(_trust_anchor_problems(self.c2pa_trust_anchors))
        if self.timestamp_urls is not None:
            urls = self.resolved_timestamp_urls()
            if not urls:
                problems.append("VERITY_TIMESTAMP_URLS names no URL")
            elif any(not url.startswith(("http://", "https://")) for url in urls):
                problems.append(f"VERITY_TIMESTAMP_URLS are http:// or https:// URLs (got {self.timestamp_urls!r})")
            if self.timestamp_ca_file is None:
                problems.append(
                    "VERITY_TIMESTAMP_URLS needs VERITY_TIMESTAMP_CA_FILE (the roots to verify answers against)"
                )
            elif not self.timestamp_ca_file.is_file():
                problems.append(f"VERITY_TIMESTAMP_CA_FILE {self.timestamp_ca_file} is not a file")
            elif not _holds_certificates(self.timestamp_ca_file):
                problems.append(f"VERITY_TIMESTAMP_CA_FILE {self.timestamp_ca_file} holds no PEM certificate")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def resolved_timestamp_urls(self) -> list[str]:
        """The time-stamping authorities in the order they are tried; empty when none is configured."""
        return [url.strip() for url in (self.timestamp_urls or "").split(",") if url.strip()]

    @property
    def timestamps_configured(self) -> bool:
        return bool(self.resolved_timestamp_urls())

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'verity.db').resolve()}"

    def resolved_database_pool_size(self) -> int:
        if self.database_pool_size is not None:
            return self.database_pool_size
        return self.request_threads + self.upload_threads + self.work_threads + self.ingest_workers + 4

    def resolved_blob_dir(self) -> Path:
        return (self.blob_dir or self.data_dir / "blobs").resolve()

    def resolved_work_dir(self) -> Path:
        return (self.work_dir or self.data_dir / "work").resolve()


def _trust_anchor_problems(path: Path) -> list[str]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return [f"VERITY_C2PA_TRUST_ANCHORS: cannot read {path}: {exc}"]
    if b"-----BEGIN CERTIFICATE-----" not in data or not data.isascii():
        return [f"VERITY_C2PA_TRUST_ANCHORS: {path} holds no PEM certificate (-----BEGIN CERTIFICATE----- …)"]
    return []


def _holds_certificates(path: Path) -> bool:
    from verity.timestamp_tokens import load_roots

    try:
        return bool(load_roots(path.read_bytes()))
    except (OSError, ValueError):
        return False


def describe_settings_error(exc: ValidationError) -> str:
    """What is wrong with the settings, by the names an operator sets (`VERITY_…: problem`)."""
    prefix = str(Settings.model_config.get("env_prefix", ""))
    described = []
    for problem in exc.errors():
        message = str(problem.get("msg", "invalid")).removeprefix("Value error, ")
        where = ".".join(str(part) for part in problem.get("loc", ()))
        described.append(f"{prefix}{where.upper()}: {message}" if where else message)
    return "; ".join(described)
