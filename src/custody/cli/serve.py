"""``custody serve``: the HTTP server (API, tus uploads, the log's read API)."""

from __future__ import annotations

from pathlib import Path

import click
import uvicorn

from custody.api.app import create_app
from custody.cli.options import data_dir_option, settings_for
from custody.cli.output import say
from custody.clock import FileOffsetClock
from custody.errors import InvalidInput


@click.command()
@data_dir_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8443, show_default=True, type=click.IntRange(1, 65535))
def serve(data_dir: Path | None, host: str, port: int) -> None:
    """Run the server: the embedded default (SQLite + files) or what CUSTODY_* configure."""
    settings = settings_for(data_dir)
    clock = None
    if settings.test_clock_file is not None:
        if settings.mode != "development":
            raise InvalidInput(
                "CUSTODY_TEST_CLOCK_FILE moves the server's time and is for tests only",
                hint="unset it, or set CUSTODY_MODE=development on a test server",
            )
        clock = FileOffsetClock(settings.test_clock_file)
    app = create_app(settings, clock=clock)
    say(f"custody: {settings.data_dir} on http://{host}:{port} (log {app.state.context.origin})")
    proxies = list(settings.trusted_proxies)
    if proxies:
        say(f"  believing X-Forwarded-For from {', '.join(proxies)} (CUSTODY_TRUSTED_PROXIES)")
    uvicorn.run(
        app,
        host=host,
        port=port,
        # uvicorn's default believes X-Forwarded-For from $FORWARDED_ALLOW_IPS or loopback:
        # any local process, or anyone when nothing is in front, would choose the address
        # recorded for its sign-ins and counted by the address lockout. Only named proxies may.
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=5,
    )
