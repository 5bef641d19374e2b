"""Server settings: one typed, frozen object built from ``CUSTODY_*`` variables.

Built by the CLI entry point or ``create_app(settings)`` and passed down —
never at import time. Outside development mode it refuses insecure values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the server needs to know, with safe defaults for the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="CUSTODY_", frozen=True, extra="ignore")

    mode: Literal["development", "production"] = "production"
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "custody-data")
    database_url: str | None = None
    blob_url: str | None = None
    # The address people reach the server at; used in links only.
    public_url: str | None = None
    token_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    default_ack_hours: int = Field(default=72, ge=1)
    checkpoint_interval_seconds: float = Field(default=2.0, gt=0)
    max_upload_bytes: int = Field(default=64 * 1024**3, gt=0)
    tls: bool = False

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'custody.db'}"

    @property
    def effective_blob_url(self) -> str:
        return self.blob_url or (self.data_dir / "blobs").as_uri()

    @property
    def log_key_path(self) -> Path:
        """The ledger's signing key (C2SP note skey), 0600, made by ``admin init``."""
        return self.data_dir / "secrets" / "log-signing.key"

    @property
    def log_origin_path(self) -> Path:
        return self.data_dir / "log-origin.txt"
