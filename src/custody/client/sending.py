"""``custody send``: seal files on this machine and upload only ciphertext, resumably.

Each file gets a fresh item key; its content is age-encrypted to that key in a
deterministic STREAM (``SealPlan``), so an interrupted upload continues from the
server's offset by regenerating byte-identical ciphertext. The plan and item key
of an unfinished send are kept in the client's home, encrypted to the sender's
own age key. The manifest is signed, then encrypted to the item key; the item
key is wrapped for every reader the server names.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import google_crc32c
from pydantic import TypeAdapter

from custody.client.ahead import ahead
from custody.client.config import Session, home
from custody.client.http import Api
from custody.client.ids import server_id, upload_path
from custody.client.progress import SILENT, Progress
from custody.client.sent import SentFile, find_sent, record_sent
from custody.client.sizes import human_size
from custody.client.transparency import check_key_logged, check_recovery_key_logged
from custody.crypto import age
from custody.crypto.items import new_item_key, wrap
from custody.crypto.keys import UserKeys
from custody.crypto.manifest import Manifest, SignedManifest, safe_file_name, safe_folder
from custody.errors import ChecksumMismatch, Conflict, IntegrityError, LocalError, NotFound
from custody.files import write_private
from custody.protocol.transfers import (
    ItemCreatedOut,
    ItemIn,
    ReaderOut,
    SealIn,
    SubjectsIn,
    TransferIn,
    TransferOut,
)

PATCH_BYTES = 32 * 1024 * 1024
_READERS = TypeAdapter(list[ReaderOut])
Say = Callable[[str], None]


@dataclass(frozen=True)
class Source:
    path: Path
    name: str
    size: int
    mtime_ns: int
    folder: str | None = None  # its folder inside a folder sent ("evidence/cctv"), signed

    @property
    def shown(self) -> str:
        return self.name if self.folder is None else f"{self.folder}/{self.name}"


def _walk(folder: Path) -> list[tuple[Path, str]]:
    """Every file under ``folder``, in a stable order, with its folder relative to
    ``folder``'s parent ("evidence/cctv"): what the recipient's tree will be. A symbolic link,
    or anything but a file or folder, is refused: what it points at is not in the folder."""
    found: list[tuple[Path, str]] = []
    top = safe_file_name(folder.resolve().name)
    for root, dirs, names in os.walk(folder, onerror=_unreadable):
        here = Path(root)
        relative = "/".join([top, *here.relative_to(folder).parts])
        dirs.sort()
        for name in sorted([*names, *(d for d in dirs if (here / d).is_symlink())]):
            path = here / name
            if path.is_symlink() or not path.is_file():
                what = "a symbolic link" if path.is_symlink() else "not a regular file"
                raise LocalError(f"{path} is {what}", hint="send the file itself; nothing was sent")
            found.append((path, safe_folder(relative)))
    if not found:
        raise LocalError(f"{folder} has no files in it", hint="nothing was sent")
    return found


def _unreadable(exc: OSError) -> None:
    raise LocalError(f"{exc.filename}: {exc.strerror}", hint="nothing was sent")


def check_sources(files: list[Path]) -> list[Source]:
    """Every file must exist and be readable before anything reaches the server; a folder
    stands for every file under it, each with its folder kept (signed in its manifest)."""
    listed: list[tuple[Path, str | None]] = []
    for path in files:
        if path.is_dir():
            listed.extend(_walk(path))
        else:
            listed.append((path, None))
    sources = []
    for path, folder in listed:
        if path.exists() and not path.is_file():
            raise LocalError(f"{path} is not a regular file", hint="nothing was sent")
        try:
            stat = path.stat()
            with path.open("rb"):
                pass
        except FileNotFoundError:
            raise LocalError(
                f"{path}: no such file", hint="check the path; nothing was sent"
            ) from None
        except OSError as exc:
            raise LocalError(f"{path}: {exc.strerror}", hint="nothing was sent") from None
        sources.append(
            Source(
                path.resolve(), safe_file_name(path.name), stat.st_size, stat.st_mtime_ns, folder
            )
        )
    if len({s.shown for s in sources}) != len(sources):
        raise LocalError(
            "two files have the same name", hint="rename one; a recipient could not tell them apart"
        )
    return sources


class SendState:
    """What an unfinished send needs to resume: ids, upload URLs, encrypted plans."""

    def __init__(self, session: Session, case: str, to: list[str], sources: list[Source]) -> None:
        ident = json.dumps(
            [
                session.server,
                session.user_id,
                case,
                sorted(to),
                [(str(s.path), s.size, s.mtime_ns) for s in sources],
            ]
        )
        self.path = home() / "sending" / f"{hashlib.sha256(ident.encode()).hexdigest()[:32]}.json"
        self.data: dict[str, Any] = {}
        if self.path.exists():
            try:
                self.data = json.loads(self.path.read_text())
            except ValueError:
                self.data = {}

    def save(self) -> None:
        write_private(self.path, json.dumps(self.data).encode())

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)


def send(
    api: Api,
    session: Session,
    keys: UserKeys,
    files: list[Path],
    case: str,
    to: list[str],
    ack_within: str | None,
    say: Say,
    subjects: list[str] | None = None,
    progress: Progress = SILENT,
) -> TransferOut:
    sources = check_sources(files)
    state = SendState(session, case, to, sources)
    transfer = _resume_or_create(api, state, case, to, ack_within, say)
    check_readers_logged(api, session, transfer.readers)
    items: dict[str, Any] = state.data.setdefault("items", {})
    unsealed = [s for s in sources if not items.get(str(s.path), {}).get("sealed")]
    progress.start(sum(s.size for s in unsealed), len(unsealed))
    try:
        _seal_each(api, session, keys, state, transfer, sources, say, progress)
    finally:
        progress.finish()
    if subjects:  # pseudonymous data-subject references, attached to every item
        api.act(f"/api/v1/transfers/{transfer.id}/subjects", SubjectsIn(subjects=subjects))
    result = api.post(f"/api/v1/transfers/{transfer.id}/send", TransferOut)
    sent = [
        SentFile(s.path, s.name, s.size, s.mtime_ns, items[str(s.path)].get("sha256"))
        for s in sources
    ]
    state.clear()
    # The transfer is sent: a record this machine cannot write costs only the duplicate check.
    with contextlib.suppress(LocalError, OSError):
        record_sent(session, case, to, result.id, sent)
    return result


def already_sent(
    api: Api, session: Session, files: list[Path], case: str, to: list[str]
) -> TransferOut | None:
    """The standing transfer that sent these files' contents to ``to`` for ``case`` from this
    machine, or None. A send of them that did not finish is None: it resumes."""
    sources = check_sources(files)
    if SendState(session, case, to, sources).data.get("transfer"):
        return None
    found = [SentFile(s.path, s.name, s.size, s.mtime_ns) for s in sources]
    return find_sent(api, session, case, to, found)


def _seal_each(
    api: Api,
    session: Session,
    keys: UserKeys,
    state: SendState,
    transfer: TransferOut,
    sources: list[Source],
    say: Say,
    progress: Progress,
) -> None:
    """Upload and seal every file not sealed yet: ciphertext, signed manifest, key wraps."""
    readers = transfer.readers
    own = age.Recipient.parse(keys.age_recipient)
    items: dict[str, Any] = state.data["items"]
    for source in sources:
        entry = items.get(str(source.path))
        if entry is None:
            item_key = new_item_key()
            plan = age.SealPlan.create([item_key.recipient])
            created = api.post(
                f"/api/v1/transfers/{transfer.id}/items",
                ItemCreatedOut,
                ItemIn(ciphertext_size=plan.ciphertext_size(source.size)),
            )
            secret = json.dumps(
                {
                    "item_key": item_key.to_string(),
                    "plan": base64.b64encode(plan.to_secret_bytes()).decode(),
                }
            ).encode()
            entry = {
                "item": server_id(created.id, "item id"),
                "secret": base64.b64encode(age.encrypt(secret, [own])).decode(),
                "upload": None,
                "sealed": False,
            }
            items[str(source.path)] = entry
            state.save()
        if entry["sealed"]:
            say(f"  {source.shown}: already sealed")
            continue
        secret = json.loads(age.decrypt(base64.b64decode(entry["secret"]), [keys.identity]))
        item_key = age.Identity.parse(secret["item_key"])
        plan = age.SealPlan.from_secret_bytes(base64.b64decode(secret["plan"]))
        progress.file(source.shown, source.size)
        plain_sha, cipher_sha = _upload(api, state, entry, source, plan, say, progress)
        manifest = Manifest(
            item=entry["item"],
            transfer=transfer.id,
            case=transfer.case,
            file_name=source.name,
            folder=source.folder,
            size=source.size,
            sha256=plain_sha,
            ciphertext_size=plan.ciphertext_size(source.size),
            ciphertext_sha256=cipher_sha,
            item_recipient=item_key.recipient.to_string(),
            sender=session.user_id,
            signing_key=keys.signing_public,
            created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        signed = SignedManifest.sign(manifest, keys.signing_key)
        sealed = age.encrypt(signed.to_bytes(), [item_key.recipient])
        api.act(
            f"/api/v1/items/{entry['item']}/seal",
            SealIn(
                sealed_manifest=base64.b64encode(sealed).decode(),
                manifest_sha256=hashlib.sha256(signed.manifest_bytes).hexdigest(),
                wraps={
                    r.recipient: base64.b64encode(
                        wrap(item_key, age.Recipient.parse(r.recipient))
                    ).decode()
                    for r in readers
                },
            ),
        )
        entry["sealed"] = True
        entry["sha256"] = plain_sha  # what find_sent compares, once the transfer is sent
        state.save()
        size = human_size(source.size)
        say(
            f"  {source.shown}: sealed and signed ({size}, sha256 {plain_sha[:12]}), "
            f"item {entry['item']}"
        )


def check_readers_logged(api: Api, session: Session, readers: list[ReaderOut]) -> None:
    """Wrap only for keys the ledger shows: each person's registration, each organisation's
    recovery key. A reader that is neither is refused, never wrapped for."""
    for reader in readers:
        index, recipient = reader.key_index, reader.recipient
        if reader.user_id is not None:
            user_id = server_id(reader.user_id, "reader id")
            check_key_logged(api, session, index=index, user_id=user_id, age_recipient=recipient)
        elif reader.org_id is not None:
            org_id = server_id(reader.org_id, "organisation id")
            check_recovery_key_logged(api, session, index=index, org_id=org_id, recipient=recipient)
        else:
            raise IntegrityError(
                f"the server named a reader that is neither a person nor an organisation "
                f"({reader.label[:60]!r})",
                hint="do not send through this server; report it to your security team",
            )


def _resume_or_create(
    api: Api, state: SendState, case: str, to: list[str], ack_within: str | None, say: Say
) -> TransferOut:
    transfer_id = state.data.get("transfer")
    if transfer_id:
        try:
            found: TransferOut | None = api.get(f"/api/v1/transfers/{transfer_id}", TransferOut)
        except NotFound:
            found = None
        if found is not None and found.state == "draft":
            say(f"Resuming transfer {transfer_id}")
            # The server checks the wraps against the transfer's readers when sealing.
            readers = _READERS.validate_python(state.data["readers"])
            return found.model_copy(update={"readers": readers})
        state.data = {}
    transfer = api.post(
        "/api/v1/transfers", TransferOut, TransferIn(case=case, to=to, ack_within=ack_within)
    )
    server_id(transfer.id, "transfer id")
    readers_json = _READERS.dump_python(transfer.readers, mode="json")
    state.data = {"transfer": transfer.id, "readers": readers_json, "items": {}}
    state.save()
    return transfer


def _upload(
    api: Api,
    state: SendState,
    entry: dict[str, Any],
    source: Source,
    plan: age.SealPlan,
    say: Say,
    progress: Progress,
) -> tuple[str, str]:
    """Upload what the server lacks; return the SHA-256 of plaintext and ciphertext."""
    length = plan.ciphertext_size(source.size)
    offset = 0
    tus = {"Tus-Resumable": "1.0.0"}
    if entry["upload"]:
        try:
            head = api.request("HEAD", entry["upload"], headers=tus)
            offset = _offset(head.headers.get("Upload-Offset"), length)
        except NotFound:
            entry["upload"] = None
    if not entry["upload"]:
        item_b64 = base64.b64encode(entry["item"].encode()).decode()
        created = api.request(
            "POST",
            "/api/v1/uploads",
            headers={**tus, "Upload-Length": str(length), "Upload-Metadata": f"item {item_b64}"},
        )
        entry["upload"] = upload_path(created.headers.get("Location"))
        # A lost answer made the server hand back the upload it already holds for the item.
        offset = _offset(created.headers.get("Upload-Offset", "0"), length)
        state.save()
    if offset:
        say(f"  {source.shown}: resuming upload at {human_size(offset)} of {human_size(length)}")
    plain, cipher = hashlib.sha256(), hashlib.sha256()
    send_from = offset
    try:
        with (
            source.path.open("rb") as f,
            ahead(
                _patches(plan, f, source.size, offset, (plain, cipher), progress), 1, "custody-seal"
            ) as patches,
        ):
            for pending in patches:
                send_from = _send(api, entry["upload"], pending, send_from, length)
    except OSError as exc:
        raise LocalError(f"cannot read {source.path}: {exc.strerror}") from exc
    if send_from != length:
        raise Conflict(
            f"upload of {source.name} ended at {send_from} of {length} bytes",
            hint="run the same command again to resume",
        )
    return plain.hexdigest(), cipher.hexdigest()


def _patches(
    plan: age.SealPlan,
    f: BinaryIO,
    size: int,
    send_from: int,
    digests: tuple[hashlib._Hash, hashlib._Hash],
    progress: Progress,
) -> Iterator[_Patch]:
    """The PATCH bodies from ``send_from`` on: read, hashed, encrypted, hashed again (in a
    thread of its own, while the one before is uploading). Every plaintext byte is read and
    hashed, also those before ``send_from``, whose chunks are not encrypted again."""
    plain, cipher = digests
    advance = progress.advance

    def on_plaintext(block: bytes) -> None:  # once per 1 MiB
        plain.update(block)
        advance(len(block))

    position = 0
    pending = _Patch()
    for piece in plan.iter_ciphertext(f, size, on_plaintext=on_plaintext):
        cipher.update(piece)
        end = position + len(piece)
        if end > send_from:
            pending.add(piece[max(0, send_from - position) :])
        position = end
        if pending.size >= PATCH_BYTES:
            yield pending
            pending = _Patch()
    if pending.size:
        yield pending


def _send(api: Api, url: str, pending: _Patch, offset: int, length: int) -> int:
    """PATCH ``pending`` at ``offset``; the offset after it.

    A 409 means the server's offset moved under us: a request of an earlier run of this
    send (killed mid-way) was still being written when this one asked where to resume. The
    server says where it is now; what it already holds is dropped from ``pending`` and the
    rest is sent from there (tus's answer to a conflict). An offset that went back cannot
    be caught up from here: run the command again."""
    for _ in range(3):
        try:
            return offset + pending.send(api, url, offset)
        except Conflict:
            head = api.request("HEAD", url, headers={"Tus-Resumable": "1.0.0"})
            moved = _offset(head.headers.get("Upload-Offset"), length)
            if moved < offset:
                raise
            skipped = pending.skip(moved - offset)
            offset += skipped
            if not pending.size:
                return moved
    raise Conflict("the upload's offset kept moving", hint="run the same command again to resume")


def _offset(header: str | None, length: int) -> int:
    """The server's ``Upload-Offset``, refused unless a decimal within the upload."""
    if header is None or not header.isascii() or not header.isdigit() or int(header) > length:
        raise IntegrityError(
            f"the server answered an upload offset of {str(header)[:20]!r} for {length} bytes",
            hint="do not trust this server's answers; report it to your security team",
        )
    return int(header)


class _Patch:
    """The next PATCH body: ciphertext pieces, hashed for ``Upload-Checksum`` when it is sent.

    Held as the pieces themselves (no joined copy) and emptied after each request, so a
    client's memory stays at a few bodies however large the file. The checksum is taken by
    the thread that sends (while the next body is being encrypted), not the one that seals.
    """

    def __init__(self) -> None:
        self.pieces: list[bytes] = []
        self.size = 0

    def add(self, piece: bytes) -> None:
        self.pieces.append(piece)
        self.size += len(piece)

    def skip(self, count: int) -> int:
        """Drop up to ``count`` bytes from the front (the server has them); how many."""
        kept: list[bytes] = []
        dropped = 0
        for piece in self.pieces:
            cut = min(len(piece), count - dropped)
            dropped += cut
            if cut < len(piece):
                kept.append(piece[cut:])
        self.pieces, self.size = [], 0
        for piece in kept:
            self.add(piece)
        return dropped

    def send(self, api: Api, url: str, offset: int) -> int:
        # CRC-32C, not SHA-256: it guards the bytes on their way, and costs each side about
        # 0.07 CPU s a GB against 0.49 (the manifest's SHA-256 of the ciphertext is separate).
        digest = google_crc32c.Checksum()
        for piece in self.pieces:
            digest.update(piece)
        checksum = base64.b64encode(digest.digest()).decode()
        headers = {
            "Tus-Resumable": "1.0.0",
            "Upload-Offset": str(offset),
            "Content-Type": "application/offset+octet-stream",
            "Content-Length": str(self.size),
            "Upload-Checksum": f"crc32c {checksum}",
        }
        try:
            api.request("PATCH", url, content=iter(self.pieces), headers=headers).close()
        except ChecksumMismatch as exc:
            raise ChecksumMismatch(
                "the server received different bytes than were sent",
                hint="run the same command again to resume",
            ) from exc
        # httpx keeps the request (and so this body) in a reference cycle until the
        # collector runs; emptying the list in place frees the bytes now.
        self.pieces.clear()
        return self.size
