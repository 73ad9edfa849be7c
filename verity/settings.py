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

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'verity.db').resolve()}"

    def resolved_blob_dir(self) -> Path:
        return (self.blob_dir or self.data_dir / "blobs").resolve()
