"""``custody demo``: the whole story, end to end, on the embedded default."""

from __future__ import annotations

from pathlib import Path

import click


@click.command()
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default="demo-out",
    show_default=True,
    help="Folder for the server's data, each person's client files, and the results.",
)
def demo(workdir: Path) -> None:
    """Run a real server on loopback and tell the story: seal, send, receive, verify, prove."""
    from custody.demo import run  # noqa: PLC0415 - only the demo needs it

    run(workdir)
