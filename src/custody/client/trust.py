"""What this client trusts about a log: its verifier key, pinned once, and the largest tree
it has verified.

A server (or whoever terminates TLS in front of it) must not be able to choose the key
its own ledger is checked against, so the log's verifier key comes from the person,
given once at their first login (``--log-key``, from their organisation) and kept in
``$CUSTODY_HOME/trust/pins.json``. A later answer naming another key is refused, loudly;
only an explicit ``--replace-log-key`` changes a pin.

A server holding the real log key could still show this client a history nobody else
sees (a split view). So the client remembers the largest checkpoint it has verified
(``trust/log-<key id>.json``) and accepts a new one only with a consistency proof from
it (RFC 9162 §2.1.4). A smaller tree is taken (not remembered) only if the server proves
it a prefix of the remembered one: another command on the same machine may have fetched
a newer checkpoint first, and a log rolled back cannot give that proof. A smaller tree
without it, or a larger one that does not extend the remembered one, is refused, and both
signed notes are kept under ``evidence/`` for the security team.
(Witness cosignatures, which stop a split view before it is first shown, are the other
half of the answer; see docs/ledger.md.)
"""

from __future__ import annotations

import base64
import fcntl
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

from custody.client.config import home
from custody.client.http import Api
from custody.errors import CustodyError, IntegrityError, InvalidInput, LocalError, NotFound
from custody.files import write_private
from custody.ledger.checkpoint import Checkpoint, SignedCheckpoint, open_checkpoint
from custody.ledger.cosignature import CosignatureVerifier, QuorumNotMet, open_cosigned
from custody.ledger.merkle import InvalidProof, verify_consistency
from custody.ledger.note import Verifier
from custody.protocol.ledger import ConsistencyOut

_REPORT = "do not send or accept material through this server; report it to your security team"


class LogKeyMismatch(IntegrityError):
    """The server names a log key other than the one this client pinned."""


class SplitView(IntegrityError):
    """The server showed a tree that does not extend the one this client verified before."""


def _trust_dir() -> Path:
    return home() / "trust"


def _pins_path() -> Path:
    return _trust_dir() / "pins.json"


def _server(url: str) -> str:
    return url.strip().rstrip("/")


def parse_log_key(text: str) -> Verifier:
    """A verifier key (``name+hash+base64``) as typed or read from a file; clear error if not."""
    try:
        return Verifier.from_vkey(text.strip())
    except CustodyError as exc:
        raise InvalidInput(
            f"{text.strip()[:80]!r} is not a log verifier key: {exc.message}",
            hint="copy it exactly as `custody admin init` printed it (name+hash+key)",
        ) from None


def read_log_key_file(path: Path) -> str:
    """The key from a file the organisation distributes: the first line that is not a comment."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise LocalError(f"cannot read {path}: {exc.strerror}") from exc
    for line in lines:
        if line.strip() and not line.lstrip().startswith("#"):
            return line.strip()
    raise InvalidInput(f"{path} holds no log key", hint="it should hold one line: name+hash+key")


def _load_pins() -> dict[str, dict[str, str]]:
    path = _pins_path()
    try:
        pins = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except ValueError as exc:
        raise LocalError(
            f"{path} is damaged", hint="restore it from a backup, or re-pin with --log-key"
        ) from exc
    if not isinstance(pins, dict):
        raise LocalError(f"{path} is damaged", hint="restore it, or re-pin with --log-key")
    return pins


def pinned_key(server: str) -> str | None:
    """The log key pinned for ``server``, or None before the first login there."""
    pin = _load_pins().get(_server(server))
    return None if pin is None else pin["log_key"]


def expected_log_key(server: str, given: str | None, *, replace: bool = False) -> Verifier:
    """The key this login must find: the one pinned for ``server``, or (first login, or an
    explicit ``replace``) the one the person gave. Nothing is written here."""
    current = pinned_key(server)
    if given is None:
        if replace:
            raise InvalidInput("--replace-log-key needs the new key: add --log-key")
        if current is None:
            raise InvalidInput(
                f"the first login to {_server(server)} needs the log's verifier key",
                hint="your organisation's custody administrator has it (`custody admin init` "
                "prints it); run: custody login --server URL --log-key 'origin+hash+key'",
            )
        return parse_log_key(current)
    verifier = parse_log_key(given)
    if current is not None and current != verifier.vkey and not replace:
        raise LogKeyMismatch(
            f"the log key given differs from the one pinned for {_server(server)}",
            hint="if your organisation announced a new log key, log in with "
            "--log-key NEW --replace-log-key",
        )
    return verifier


def check_server_names(server: str, named: str | None, expected: Verifier) -> None:
    """The server's own claim about its log key must be the expected one (never adopted)."""
    if named != expected.vkey:
        raise LogKeyMismatch(
            f"the server at {_server(server)} names the log key {named!r}, not the one pinned "
            f"on this machine ({expected.vkey}): it, or something between you and it, is not "
            "the custody server your organisation runs",
            hint=_REPORT,
        )


def pin_log_key(server: str, verifier: Verifier) -> None:
    """Keep ``verifier`` as the log key of ``server`` (after a login that confirmed it)."""
    with _locked(_pins_path()):
        pins = _load_pins()
        if pins.get(_server(server), {}).get("log_key") == verifier.vkey:
            return
        pins[_server(server)] = {
            "log_key": verifier.vkey,
            "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_private(_pins_path(), json.dumps(pins, indent=2).encode())


def require_pin(server: str) -> Verifier:
    """The pinned verifier for ``server``; an error if this client never pinned one."""
    vkey = pinned_key(server)
    if vkey is None:
        raise IntegrityError(
            f"this client has no log key pinned for {_server(server)}",
            hint="log in again with the key your organisation gave you: "
            "custody login --server URL --log-key KEY",
        )
    return parse_log_key(vkey)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time reads, checks and rewrites ``path`` (two CLIs may run at once)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = path.with_name(path.name + ".lock")
    with lock.open("a") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@dataclass(frozen=True)
class WitnessPolicy:
    """Which witnesses' cosignatures this client asks of a log's checkpoints, and how many
    (pinned at login with --witness and --quorum; none: the log's signature alone)."""

    witnesses: tuple[CosignatureVerifier, ...] = ()
    quorum: int = 0

    @classmethod
    def of(cls, vkeys: Sequence[str], quorum: int | None) -> WitnessPolicy:
        witnesses = tuple(CosignatureVerifier.from_vkey(v) for v in vkeys)
        need = len(witnesses) if quorum is None else quorum
        if not 0 <= need <= len(witnesses):
            raise InvalidInput(f"--quorum {need}: more than the {len(witnesses)} witnesses given")
        return cls(witnesses, need)


def _policy_path(log: Verifier) -> Path:
    return _trust_dir() / f"witnesses-{log.key_id:08x}.json"


def pinned_policy(log: Verifier) -> WitnessPolicy:
    """The witness policy pinned for ``log``'s key (none pinned: no witnesses asked)."""
    path = _policy_path(log)
    try:
        data = json.loads(path.read_text())
        return WitnessPolicy.of(data["witnesses"], int(data["quorum"]))
    except FileNotFoundError:
        return WitnessPolicy()
    except (ValueError, KeyError, TypeError, CustodyError) as exc:
        raise LocalError(
            f"{path} is damaged",
            hint="restore it, or log in again with --witness (and --quorum)",
        ) from exc


def pin_policy(log: Verifier, policy: WitnessPolicy) -> None:
    """Ask ``policy``'s quorum of cosignatures of every checkpoint of ``log`` from now on."""
    data = {
        "log": log.vkey,
        "witnesses": [w.vkey for w in policy.witnesses],
        "quorum": policy.quorum,
        "pinned_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    write_private(_policy_path(log), json.dumps(data, indent=2).encode())


_T = TypeVar("_T")

# How long a client waits for the witnesses to cosign a checkpoint it is shown before it
# refuses it: the log signs every few seconds and then asks them.
QUORUM_WAIT_SECONDS = 30.0


def await_quorum(attempt: Callable[[], _T], wait: float = QUORUM_WAIT_SECONDS) -> _T:
    """``attempt()``, tried again while it fails for want of witnesses' cosignatures."""
    deadline = time.monotonic() + wait
    while True:
        try:
            return attempt()
        except QuorumNotMet:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


class LogView:
    """This client's memory of one log: the largest checkpoint it has verified."""

    def __init__(self, verifier: Verifier, policy: WitnessPolicy | None = None) -> None:
        self.verifier = verifier
        self.policy = pinned_policy(verifier) if policy is None else policy
        self.path = _trust_dir() / f"log-{verifier.key_id:08x}.json"

    def remembered(self) -> SignedCheckpoint | None:
        try:
            data = json.loads(self.path.read_text())
            return SignedCheckpoint(
                int(data["size"]),
                base64.b64decode(data["root_hash"]),
                data["note"].encode("utf-8"),
            )
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError) as exc:
            raise LocalError(
                f"{self.path} is damaged",
                hint="restore it from a backup; deleting it forgets which tree you verified",
            ) from exc

    def _remember(self, cp: Checkpoint, note: bytes) -> None:
        data = {
            "origin": cp.origin,
            "size": cp.size,
            "root_hash": base64.b64encode(cp.root_hash).decode(),
            "note": note.decode("utf-8"),
        }
        write_private(self.path, json.dumps(data, indent=2).encode())

    def accept(self, api: Api, note: bytes) -> Checkpoint:
        """Verify ``note`` (signature, origin) and that it extends what this client saw before.

        Raises :class:`SplitView` on a smaller tree, another root at the same size, or a
        failed consistency proof; both notes are then saved as evidence.
        """
        if self.policy.quorum:  # the witnesses saw this tree too: no view made for you alone
            cp = open_cosigned(
                note, self.verifier, self.policy.witnesses, self.policy.quorum
            ).checkpoint
        else:
            cp = open_checkpoint(note, self.verifier, self.verifier.name)
        with _locked(self.path):
            known = self.remembered()
            if known is None:
                self._remember(cp, note)
                return cp
            if cp.size < known.size:
                # An older tree: another command on this machine fetched the newer one first,
                # or a cache answered. Harmless if it is a prefix of the tree this client
                # verified, which the server then proves; a log rolled back has lost that tree
                # and cannot, and a view made for this client is not its prefix.
                if not _is_prefix(api, cp, known):
                    self._refuse(
                        known,
                        note,
                        f"the server showed a tree of {cp.size} entries, but this client has "
                        f"already verified one of {known.size} (a rollback, or a view made for "
                        "you)",
                    )
                return cp
            if cp.size == known.size:
                if cp.root_hash != known.root_hash:
                    self._refuse(
                        known, note, f"the server signed two different trees of size {cp.size}"
                    )
                return cp
            proof = _consistency_proof(api, known.size, cp.size)
            try:
                verify_consistency(known.size, cp.size, known.root_hash, cp.root_hash, proof)
            except InvalidProof as exc:
                self._refuse(
                    known,
                    note,
                    f"the tree of {cp.size} entries does not extend the tree of {known.size} this "
                    f"client verified before ({exc.message})",
                )
            self._remember(cp, note)
            return cp

    def _refuse(self, known: SignedCheckpoint, shown: bytes, why: str) -> None:
        saved = save_evidence(known.note, shown)
        raise SplitView(
            f"{why}: this server's ledger is not the one everybody sees",
            hint=f"{_REPORT}; both signed checkpoints are in {saved}",
        )


def _is_prefix(api: Api, older: Checkpoint, known: SignedCheckpoint) -> bool:
    """Whether the server proves ``older`` a prefix of the tree this client verified."""
    try:
        proof = _consistency_proof(api, older.size, known.size)
        verify_consistency(older.size, known.size, older.root_hash, known.root_hash, proof)
    except (IntegrityError, InvalidInput, NotFound, InvalidProof):
        return False  # refused, malformed or wrong; not a network failure, which propagates
    return True


def _consistency_proof(api: Api, old: int, new: int) -> list[bytes]:
    malformed = SplitView(
        f"the server's consistency proof from {old} to {new} entries is malformed", hint=_REPORT
    )
    try:
        body = api.get(
            "/api/v1/ledger/consistency", ConsistencyOut, params={"old": old, "new": new}
        )
    except IntegrityError as exc:
        raise malformed from exc
    if (body.old, body.new) != (old, new):
        raise malformed
    return body.proof


def save_evidence(remembered: bytes, shown: bytes) -> Path:
    """Keep two checkpoints that cannot both be true: signed, they prove the log misbehaved."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    path = home() / "evidence" / f"split-view-{stamp}.txt"
    text = (
        "Two checkpoints signed with the same log key that no honest log can both show.\n\n"
        "-- remembered by this client --\n"
        + remembered.decode("utf-8", "replace")
        + "\n-- then shown by the server --\n"
        + shown.decode("utf-8", "replace")
    )
    write_private(path, text.encode())
    return path


def current_checkpoint(api: Api, verifier: Verifier) -> Checkpoint | None:
    """The server's newest checkpoint, accepted into this client's memory (None if none yet);
    with a witness policy, once enough witnesses cosigned it."""
    view = LogView(verifier)

    def attempt() -> Checkpoint | None:
        try:
            note = api.request("GET", "/checkpoint").content
        except CustodyError as exc:
            if exc.code == "not_found":  # a new log that has signed nothing yet
                return None
            raise
        return view.accept(api, note)

    return await_quorum(attempt)
