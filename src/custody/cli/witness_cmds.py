"""``custody witness``: run a C2SP tlog-witness for custody logs (or any C2SP log).

A witness is someone other than the log's operator — another force, a court service, a
regulator — who cosigns each checkpoint only after checking that it extends the last one it
cosigned. Clients that require a quorum of witnesses cannot be shown a split view.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import click
import uvicorn

from custody.cli.output import say
from custody.crypto.signing import SigningKey
from custody.errors import InvalidInput, NotFound
from custody.ledger import note
from custody.ledger.cosignature import Cosigner
from custody.witness.app import make_app
from custody.witness.core import Witness

KEY_FILE = "witness.key"
DATABASE = "witness.db"


def _folder(folder: Path) -> Path:
    return folder.expanduser().resolve()


def load_cosigner(folder: Path) -> Cosigner:
    path = _folder(folder) / KEY_FILE
    if not path.is_file():
        raise NotFound(
            f"no witness key at {path}", hint=f"make one with: custody witness init {folder}"
        )
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InvalidInput(
            f"{path} can be read by others",
            hint=f"chmod 600 {path} (and make a new witness if it leaked)",
        )
    return Cosigner.from_skey(path.read_text().strip())


@click.group()
def witness() -> None:
    """Run a witness: cosign the checkpoints of the logs you follow, after checking them."""


@witness.command("init")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option("--name", required=True, help="The witness's name, e.g. witness.cps.example/w1.")
def witness_init(folder: Path, name: str) -> None:
    """Make the witness's key in FOLDER and print its verifier key (give that to log users)."""
    folder = _folder(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / KEY_FILE
    cosigner = Cosigner(name, SigningKey.generate())
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise InvalidInput(
            f"{path} exists already", hint="a witness keeps its key: its cosignatures name it"
        ) from None
    with os.fdopen(fd, "w") as f:
        f.write(cosigner.to_skey() + "\n")
    say(f"Witness key made in {path}.")
    say("Its verifier key (for `custody login --witness` and a log's CUSTODY_WITNESSES):")
    say(cosigner.verifier.vkey)


@witness.command("key")
@click.argument("folder", type=click.Path(path_type=Path))
def witness_key(folder: Path) -> None:
    """Print the witness's verifier key."""
    say(load_cosigner(folder).verifier.vkey)


@witness.command("serve")
@click.argument("folder", type=click.Path(path_type=Path))
@click.option(
    "--log", "logs", multiple=True, required=True,
    help="The verifier key of a log to follow (repeatable); its name is the log's origin.",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8444, show_default=True, type=int)
def witness_serve(folder: Path, logs: tuple[str, ...], host: str, port: int) -> None:
    """Serve POST /add-checkpoint (c2sp.org/tlog-witness) for the logs given."""
    cosigner = load_cosigner(folder)
    verifiers = [note.Verifier.from_vkey(vkey) for vkey in logs]
    app = make_app(Witness(cosigner, verifiers, _folder(folder) / DATABASE))
    say(f"Witness {cosigner.name} on http://{host}:{port}, following "
        + ", ".join(v.name for v in verifiers))
    uvicorn.run(app, host=host, port=port, log_level="warning", server_header=False)


