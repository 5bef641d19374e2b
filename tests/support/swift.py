"""A real S3 object store for the session: OpenStack Swift with s3api (scripts/swift.sh).

Started once, the first time a selected test asks for the ``swift`` fixture, on free
loopback ports and a folder of the session's own; stopped when the session ends. Without
Swift (not installed and not root, or it does not start) the tests that need it skip and
say why — except under CI, where they fail, so CI can never pass without it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import random
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from custody.store.s3 import MIB, S3BlobStore, S3Config, make_client
from support.paths import REPO_ROOT

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SWIFT_SH = REPO_ROOT / "scripts" / "swift.sh"
ACCESS_KEY, SECRET_KEY = "test:tester", "testing"
TEST_PART = 5 * MIB  # S3's smallest: tests cross part boundaries with little data


@dataclass(frozen=True)
class Swift:
    """A running Swift: its S3 endpoint, the tempauth user, and where its files lie."""

    endpoint: str
    folder: Path
    started_in: float  # seconds from `swift.sh up` to the healthcheck and the bucket

    @property
    def object_files(self) -> Path:
        """The object servers' device: every stored byte is in a file under it."""
        return self.folder / "node"

    def config(self, *, part_size: int = TEST_PART, secret: str = SECRET_KEY) -> S3Config:
        return S3Config(endpoint_url=self.endpoint, region="us-east-1",
                        access_key_id=ACCESS_KEY, secret_access_key=secret,
                        part_size=part_size)

    def client(self) -> S3Client:
        """One client for the session (making one costs a second on a busy machine)."""
        return self._client

    @functools.cached_property
    def _client(self) -> S3Client:
        return make_client(self.config())

    def new_bucket(self) -> str:
        name = f"t-{uuid.uuid4().hex[:16]}"
        self.client().create_bucket(Bucket=name)
        return name

    def store(self, bucket: str, prefix: str, *, part_size: int = TEST_PART) -> S3BlobStore:
        """A store on ``bucket``/``prefix``: each call is another node (a store keeps
        nothing in memory; the stateless client is shared)."""
        return S3BlobStore(self.client(), bucket, prefix, part_size=part_size)

    def settings(self, bucket: str, prefix: str = "custody") -> dict[str, str]:
        """Settings (by field name) that put a server's blobs in ``bucket``/``prefix``."""
        return {"blob_url": f"s3://{bucket}/{prefix}", "s3_endpoint_url": self.endpoint,
                "s3_region": "us-east-1", "s3_access_key_id": ACCESS_KEY,
                "s3_secret_access_key": SECRET_KEY}


def _ephemeral_ports() -> range:
    """The ports the kernel hands out to outgoing connections and to ``bind(0)``."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def free_ports(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports, outside the ephemeral range.

    Swift's servers are started a few seconds after their ports are chosen; a port the
    kernel may hand to any outgoing connection (or another test's ``bind(0)``) meanwhile
    would keep one of them retrying its bind for 30 s while the proxy answers 503.
    """
    ephemeral = _ephemeral_ports()
    chooser = random.SystemRandom()
    for _ in range(200):
        first = chooser.randrange(20000, 32000 - count)
        if any(port in ephemeral for port in range(first, first + count)):
            continue
        try:
            with contextlib.ExitStack() as held:
                for port in range(first, first + count):
                    sock = held.enter_context(socket.socket())
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return first
    raise RuntimeError("no run of free ports")


def under_ci() -> bool:
    """As scripts/test.sh reads it: CI set, and not to false or 0."""
    return os.environ.get("CI", "") not in ("", "false", "0")


def _unavailable(reason: str) -> None:
    if under_ci():
        pytest.fail(f"Swift is required under CI: {reason}")
    pytest.skip(f"no Swift (scripts/swift.sh up): {reason}")


@contextlib.contextmanager
def running_swift(folder: Path) -> Iterator[Swift]:
    """``scripts/swift.sh up`` in ``folder`` on free ports; ``down`` afterwards."""
    first = free_ports(5)  # the proxy, the object, container and account servers, memcached
    env = {**os.environ, "SWIFT_PROXY_PORT": str(first), "SWIFT_BASE_PORT": str(first + 1),
           "SWIFT_MEMCACHED_PORT": str(first + 4)}
    started = time.monotonic()
    try:
        up = subprocess.run(["bash", str(SWIFT_SH), "up", str(folder)], env=env,
                            capture_output=True, text=True, timeout=600, check=False)
    except subprocess.TimeoutExpired:
        _unavailable("scripts/swift.sh up took more than 10 minutes")
        raise
    took = time.monotonic() - started
    try:
        if up.returncode != 0:
            _unavailable(f"scripts/swift.sh up failed:\n{up.stderr[-2000:]}")
        exports = dict(line.removeprefix("export ").split("=", 1)
                       for line in up.stdout.splitlines() if line.startswith("export "))
        yield Swift(exports["CUSTODY_S3_ENDPOINT_URL"], folder, took)
    finally:
        subprocess.run(["bash", str(SWIFT_SH), "down", str(folder)], env=env,
                       capture_output=True, timeout=120, check=False)
