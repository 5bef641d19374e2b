"""``custody serve``: the HTTP server (API, tus uploads, the log's read API).

Also how a data folder stays private: ``serve`` and ``admin init`` do their
work inside :func:`private_data_dir`.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
import uvicorn

from custody.cli.options import data_dir_option, settings_for
from custody.cli.output import say
from custody.errors import InvalidInput, LocalError
from custody.server import create_app
from custody.server.app import served_clock
from custody.settings import Settings

# What this process creates is its owner's alone: the database, SQLite's -wal and -shm
# files, blobs, keys. Files get 0600 and folders 0700 whoever creates them.
PRIVATE_UMASK = 0o077
_OTHERS = 0o077


@click.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(1, 64),
    help="Processes serving this port; more than one needs PostgreSQL (CUSTODY_DATABASE_URL).",
)
def serve(data_dir: Path | None, host: str, port: int, workers: int) -> None:
    """Run the server: the embedded default (SQLite + files) or what CUSTODY_* configure."""
    settings = settings_for(data_dir)
    with private_data_dir(settings.data_dir):
        _run(settings, host, port, workers)


def _run(settings: Settings, host: str, port: int, workers: int) -> None:
    app: Any
    if workers == 1:
        app = create_app(settings, clock=served_clock(settings))
        say(f"custody: {settings.data_dir} on http://{host}:{port} "
            f"(log {app.state.context.origin})")
    else:
        if settings.effective_database_url.startswith("sqlite"):
            raise InvalidInput(
                "--workers needs PostgreSQL: the embedded SQLite store serves one process",
                hint="set CUSTODY_DATABASE_URL to a PostgreSQL database, or leave out --workers",
            )
        served_clock(settings)  # a refused test clock is refused here, not in each worker
        # Each worker builds its own app from the environment: the data folder goes with it.
        os.environ["CUSTODY_DATA_DIR"] = str(settings.data_dir)
        app = "custody.server.app:app_from_environment"
        say(f"custody: {settings.data_dir} on http://{host}:{port}, {workers} processes")
    proxies = list(settings.trusted_proxies)
    if proxies:
        say(f"  believing X-Forwarded-For from {', '.join(proxies)} (CUSTODY_TRUSTED_PROXIES)")
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=host,
        port=port,
        # asyncio's own loop, also where uvloop is installed (uvicorn's "auto" would take it):
        # with uvloop the server spent 2.09 CPU s a GB receiving an upload against 1.75, and
        # 0.44 against 0.47 serving a download (bench/throughput.py's steps, 1 GiB, 5 rounds).
        loop="asyncio",
        # uvicorn's default believes X-Forwarded-For from $FORWARDED_ALLOW_IPS or loopback:
        # any local process, or anyone when nothing is in front, would choose the address
        # recorded for its sign-ins and counted by the address lockout. Only named proxies may.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
        # An idle connection is kept well past the client's own 5 s (httpx's keep-alive
        # expiry): with uvicorn's default, also 5 s, the server closed connections a busy
        # client was just reusing, and 5 of 200 concurrent sends failed mid-way with "Server
        # disconnected without sending a response" (bench/load.py).
        timeout_keep_alive=30,
    )


@contextmanager
def private_umask() -> Iterator[None]:
    """Whatever the operator's commands write is the owner's alone; the umask is put back
    afterwards, for a caller that runs a command in-process."""
    before = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(before)


@contextmanager
def private_data_dir(data_dir: Path) -> Iterator[None]:
    """Inside this, ``data_dir`` and everything the process writes are its owner's alone.

    The umask covers files that libraries create (SQLite's); what an older version or
    a careless copy left readable by others is tightened first, with a warning, because
    a database of addresses and sealed secrets must not be readable by other accounts.
    The umask is put back afterwards, for a caller that runs a command in-process.
    """
    with private_umask():
        _make_private(data_dir)
        yield


def _make_private(data_dir: Path) -> None:
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        loosened = _tighten(data_dir)
    except OSError as exc:
        raise LocalError(
            f"cannot make the data folder {data_dir} private: {exc.strerror}",
            hint="run custody as the user who owns the folder and everything in it",
        ) from exc
    if loosened:
        click.echo(
            f"warning: {len(loosened)} file(s) or folder(s) in {data_dir} were readable by "
            f"other users (e.g. {loosened[0]}); they are now the owner's alone. "
            "Check who could have copied them.",
            err=True,
        )


def _tighten(root: Path) -> list[Path]:
    """Take group and other permissions off ``root`` and everything under it.

    Only those bits: the owner's stay as they were. Symbolic links are not followed,
    so nothing outside the folder changes.
    """
    loosened = []
    for folder, _, files in os.walk(root):
        for path in (Path(folder), *(Path(folder) / name for name in files)):
            mode = path.lstat().st_mode
            if not stat.S_ISLNK(mode) and mode & _OTHERS:
                path.chmod(stat.S_IMODE(mode) & ~_OTHERS)
                loosened.append(path)
    return loosened
