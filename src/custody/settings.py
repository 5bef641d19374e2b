"""Server settings: one typed, frozen object built from ``CUSTODY_*`` variables.

Built by the CLI entry point or ``create_app(settings)`` and passed down —
never at import time. Outside development mode it refuses insecure values.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from argon2 import DEFAULT_MEMORY_COST, DEFAULT_TIME_COST
from argon2.profiles import RFC_9106_LOW_MEMORY
from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from custody.errors import InvalidInput
from custody.ledger.cosignature import CosignatureVerifier

DEFAULT_NOTICE = (
    "This is a restricted criminal-justice system. Use is authorised only for official "
    "business and is monitored and recorded. Unauthorised use is an offence (Computer "
    "Misuse Act 1990) and may lead to prosecution. By signing in you consent to monitoring."
)
MIN_SECRET_CHARS = 32
# Values seen in examples and templates; never accepted outside development.
KNOWN_DEFAULTS = frozenset({"changeme" * 4, "change-me" * 4, "secret" * 6, "0" * 64, "x" * 32})



def _check_blob_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme == "file" and parts.path.startswith("/"):
        return value
    if parts.scheme == "s3" and parts.hostname:
        return value
    raise ValueError(
        f"CUSTODY_BLOB_URL: {value!r} is neither file:///absolute/path nor s3://bucket/prefix"
    )


def _check_endpoint_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        raise ValueError(
            f"CUSTODY_S3_ENDPOINT_URL: {value!r} is not an http(s)://host[:port] address "
            "(credentials go in CUSTODY_S3_ACCESS_KEY_ID and CUSTODY_S3_SECRET_ACCESS_KEY)"
        )
    return value


BlobUrl = Annotated[str, AfterValidator(_check_blob_url)]
EndpointUrl = Annotated[str, AfterValidator(_check_endpoint_url)]


class Settings(BaseSettings):
    """Everything the server needs to know, with safe defaults for the embedded mode."""

    model_config = SettingsConfigDict(env_prefix="CUSTODY_", frozen=True, extra="ignore")

    mode: Literal["development", "production"] = "production"
    data_dir: Path = Field(default_factory=lambda: Path.cwd() / "custody-data")
    database_url: str | None = None
    # Where ciphertext lives: file:///path (default: <data dir>/blobs) or s3://bucket/prefix,
    # an S3-compatible object store reached as the CUSTODY_S3_* settings say
    # (docs/deployment.md). Credentials left out come from boto3's usual chain.
    blob_url: BlobUrl | None = None
    s3_endpoint_url: EndpointUrl | None = None  # none: AWS itself
    s3_region: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["path", "virtual", "auto"] = "path"
    # Bytes of each multipart part but the last (S3: 5 MiB to 5 GiB); more when an upload
    # would need more parts than s3_max_parts.
    s3_part_size_mib: int = Field(default=16, ge=5, le=5 * 1024)
    # The most parts the object store takes in one multipart upload: S3 10,000; OpenStack
    # Swift's s3api 1,000 unless its max_upload_part_num (and SLO's max_manifest_segments)
    # are raised. Parts grow beyond the size above for uploads that would need more.
    s3_max_parts: int = Field(default=10_000, ge=1, le=10_000)
    # The address people reach the server at; used in links only.
    public_url: str | None = None
    token_ttl_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Browser sessions (docs/web.md): an absolute lifetime, and an idle timeout (ASVS V3.3).
    session_hours: int = Field(default=8, ge=1, le=24)
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    default_ack_hours: int = Field(default=72, ge=1)
    checkpoint_interval_seconds: float = Field(default=2.0, gt=0)
    # The log's witnesses (C2SP tlog-witness), each "<witness verifier key> <URL>": every new
    # checkpoint is sent to each, and the cosignatures they return are kept in the checkpoint
    # (docs/ledger.md). A witness that does not answer within the timeout is asked again later.
    # In the environment: comma-separated ("KEY URL,KEY URL").
    witnesses: Annotated[tuple[str, ...], NoDecode] = ()
    witness_timeout_seconds: float = Field(default=5.0, gt=0, le=60)
    max_upload_bytes: int = Field(default=64 * 1024**3, gt=0)
    tls: bool = False
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto are believed: IPs or CIDRs,
    # comma-separated in CUSTODY_TRUSTED_PROXIES. Empty: none, so the address recorded for a
    # sign-in and counted by the address lockout is always the connecting peer's.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = ()
    # Delivery assurance (docs/operations.md): alerts by e-mail, webhooks and in-app notices.
    smtp_host: str | None = None  # no host: e-mail alerts are off, the others still go out
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_from: str = "custody@localhost"
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    watcher_interval_seconds: float = Field(default=60.0, gt=0)
    # An upload neither finished nor terminated this many days after it began is aborted by
    # the watcher (its multipart upload or staged file removed; docs/operations.md).
    upload_abandon_days: int = Field(default=14, ge=1)
    # Every this many hours a node re-hashes every stored ciphertext (custody admin scrub),
    # once across all nodes; 0: only by hand (docs/operations.md, "Scrubbing").
    scrub_every_hours: float = Field(default=168.0, ge=0)
    # Operations (docs/deployment.md): "json" writes one JSON object a line, with request ids
    # and without the strings interpolated into messages; "text" is for a person's terminal.
    log_format: Literal["text", "json"] = "text"
    # The bearer token Prometheus scrapes GET /metrics with; unset: /metrics is off (404).
    metrics_token: SecretStr | None = None
    escalation_hours: int = Field(default=24, ge=1)
    regulator_deadline_hours: int = Field(default=72, ge=1)
    # Development only: a file holding seconds to add to the real time (tests move time).
    test_clock_file: Path | None = None
    # The server secret (TOTP secrets are sealed under keys derived from it). Normally the
    # 0600 file ``admin init`` makes; this variable overrides it (e.g. from a vault).
    secret_key: SecretStr | None = None
    login_lockout_failures: int = Field(default=20, ge=3)
    login_lockout_minutes: int = Field(default=15, ge=1)
    address_lockout_failures: int = Field(default=100, ge=3)
    enrolment_minutes: int = Field(default=15, ge=1, le=60)
    # Large enough for an item's seal to the most readers a transfer has (protocol.transfers).
    max_json_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    totp_issuer: str = Field(default="custody", min_length=1, max_length=40)
    # Passwords are hashed with argon2id at argon2-cffi's defaults (RFC 9106's low-memory
    # recommendation, t=3 and 64 MiB). Cheaper is for tests only: refused outside development.
    # At least 32 KiB: argon2 needs 8 KiB for each of its 4 lanes.
    password_hash_time_cost: int = Field(default=DEFAULT_TIME_COST, ge=1)
    password_hash_memory_kib: int = Field(default=DEFAULT_MEMORY_COST, ge=32)
    # SQLite (the embedded store) syncs its write-ahead log at every commit: what a client saw
    # succeed survives a power cut. "normal" syncs at checkpoints only (the last commits may
    # roll back on a power cut, never on a process kill): for tests only, refused outside
    # development.
    sqlite_synchronous: Literal["full", "normal"] = "full"
    system_use_notice: str = Field(default=DEFAULT_NOTICE, min_length=1, max_length=2000)

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_trusted_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            value = value.split(",")
        if not isinstance(value, list | tuple):
            return value
        return tuple(_proxy(str(entry).strip()) for entry in value if str(entry).strip())

    @field_validator("witnesses", mode="before")
    @classmethod
    def _split_witnesses(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(entry.strip() for entry in value.split(",") if entry.strip())
        return value

    @field_validator("witnesses")
    @classmethod
    def _check_witnesses(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            parts = entry.split()
            if len(parts) != 2 or not parts[1].startswith(("http://", "https://")):
                raise ValueError(
                    f"CUSTODY_WITNESSES: {entry!r} is not '<witness verifier key> <URL>' "
                    "(the key as `custody witness key` prints it)"
                )
            try:
                CosignatureVerifier.from_vkey(parts[0])
            except InvalidInput as exc:
                raise ValueError(f"CUSTODY_WITNESSES: {exc.message}") from exc
        return value

    @model_validator(mode="after")
    def _refuse_plain_http_object_store(self) -> Settings:
        endpoint = self.s3_endpoint_url
        if self.mode == "development" or endpoint is None or not endpoint.startswith("http:"):
            return self
        if not _is_loopback(urlsplit(endpoint).hostname or ""):
            raise ValueError(
                "CUSTODY_S3_ENDPOINT_URL: plain http to another machine; use https "
                "(ciphertext only, but its size, timing and our requests are still nobody's)"
            )
        return self

    @model_validator(mode="after")
    def _require_both_s3_credentials(self) -> Settings:
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError(
                "CUSTODY_S3_ACCESS_KEY_ID and CUSTODY_S3_SECRET_ACCESS_KEY go together: "
                "set both, or neither to use boto3's usual credentials (environment, role)"
            )
        return self

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> Settings:
        if self.mode != "development" and self.secret_key is not None:
            value = self.secret_key.get_secret_value()
            if len(value) < MIN_SECRET_CHARS or value in KNOWN_DEFAULTS:
                raise ValueError(
                    "CUSTODY_SECRET_KEY is empty, short or a well-known default; "
                    "remove it to use the file `custody admin init` made, or set a random one"
                )
        return self

    @model_validator(mode="after")
    def _refuse_weak_metrics_token(self) -> Settings:
        token = self.metrics_token
        if self.mode != "development" and token is not None and (
            len(token.get_secret_value()) < MIN_SECRET_CHARS
            or token.get_secret_value() in KNOWN_DEFAULTS
        ):
            raise ValueError(
                "CUSTODY_METRICS_TOKEN is short or a well-known default; set a random one "
                "of 32 characters or more (e.g. `openssl rand -hex 32`), or unset it"
            )
        return self

    @model_validator(mode="after")
    def _refuse_lax_sqlite_sync(self) -> Settings:
        if self.mode != "development" and self.sqlite_synchronous != "full":
            raise ValueError(
                "CUSTODY_SQLITE_SYNCHRONOUS=normal can lose the last commits in a power cut; "
                "it is for tests only: remove it"
            )
        return self

    @model_validator(mode="after")
    def _refuse_cheap_password_hashing(self) -> Settings:
        floor = RFC_9106_LOW_MEMORY
        if self.mode != "development" and (
            self.password_hash_time_cost < floor.time_cost
            or self.password_hash_memory_kib < floor.memory_cost
        ):
            raise ValueError(
                "CUSTODY_PASSWORD_HASH_TIME_COST / CUSTODY_PASSWORD_HASH_MEMORY_KIB are below "
                f"RFC 9106's recommendation (time cost {floor.time_cost}, "
                f"{floor.memory_cost} KiB); remove them to use the defaults"
            )
        return self

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
    def server_secret_path(self) -> Path:
        """The server secret (32 random bytes, hex), 0600, made by ``admin init``."""
        return self.data_dir / "secrets" / "server.key"

    @property
    def log_origin_path(self) -> Path:
        return self.data_dir / "log-origin.txt"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _proxy(entry: str) -> str:
    """One trusted proxy, written the one way uvicorn reads it.

    uvicorn silently treats what it cannot parse as a literal host name that no
    client address ever equals, so a typo would quietly trust no one (or, with
    host bits set, not the network meant): refused here instead.
    """
    try:
        if "/" in entry:
            return str(ipaddress.ip_network(entry))
        return str(ipaddress.ip_address(entry))
    except ValueError as exc:
        raise ValueError(
            f"CUSTODY_TRUSTED_PROXIES: {entry!r} is not an IP address or network ({exc}); "
            "list your reverse proxies' addresses, e.g. 10.0.0.5,10.1.0.0/24"
        ) from None
