"""``custody receive``: download ciphertext, verify everything, and only then release a file.

Order of checks, each before the next step: the wrap opens with the reader's
key; the manifest decrypts and carries the sender's signature by the key the
ledger recorded; it names this item, transfer and case. The ciphertext is then
decrypted as it downloads (one pass: never written to disk), the plaintext written
once into a temporary file beside the destination (0600), both hashed as they
stream; the ciphertext must have the signed size and SHA-256 and the plaintext the
signed size and SHA-256. Only then is the temporary file renamed into place. Any
failure deletes what was written, reports the failure to the server (so it is in
the ledger), and says which item failed; an interruption keeps the authenticated
plaintext so far, to resume from (see :func:`_receive_into`).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from custody.client.ahead import ahead
from custody.client.config import Session, home
from custody.client.http import Api
from custody.client.ids import server_id
from custody.client.progress import SILENT, Progress
from custody.client.transparency import check_key_logged
from custody.crypto import age
from custody.crypto.items import unwrap
from custody.crypto.keys import UserKeys
from custody.crypto.manifest import Manifest, Sealed, open_sealed, safe_file_name, safe_folder
from custody.crypto.signing import VerifyKey
from custody.errors import (
    Conflict,
    CustodyError,
    Forbidden,
    IntegrityError,
    LocalError,
    NotFound,
)
from custody.files import drop_cached, write_private
from custody.protocol.transfers import ItemOut, ReceiptIn, TransferOut

Say = Callable[[str], None]
_READ = 1024 * 1024
_CHUNK = 64 * 1024  # age's STREAM chunk: resume keeps whole ones
_KEEP_BATCH = 64  # chunks of kept plaintext read back at a time (4 MiB)
_DROP_WINDOW = 32 * 1024 * 1024  # received plaintext dropped from the page cache by this much
_AHEAD = 32  # blocks read ahead of decryption (httpx gives 64 KiB: 2 MiB)


@dataclass(frozen=True)
class Received:
    item: str
    path: Path
    manifest: Manifest


class VerificationFailed(IntegrityError):
    """An item did not match what its sender signed; nothing of it was released."""


def receive(
    api: Api,
    session: Session,
    keys: UserKeys,
    transfer_id: str,
    out: Path,
    say: Say,
    progress: Progress = SILENT,
) -> list[Received]:
    """Receive a whole transfer, or one item (e.g. one shared with you) by its id."""
    try:
        transfer = api.get(f"/api/v1/transfers/{transfer_id}", TransferOut)
    except NotFound:
        try:
            transfer = api.get(f"/api/v1/items/{transfer_id}", TransferOut)
        except NotFound:
            raise NotFound(f"no item or transfer {transfer_id}") from None
    # Ids name files and URLs below: refuse anything but the UUIDs custody makes.
    server_id(transfer.id, "transfer id")
    for item in transfer.items:
        server_id(item.id, "item id")
    if not transfer.sender_signing_key:
        raise IntegrityError(
            "the server gave no signing key for the sender", hint="report this to your admin"
        )
    # The sender's signing key counts only if the ledger shows the sender registered it.
    check_key_logged(
        api,
        session,
        index=transfer.sender_key_index,
        user_id=transfer.sender.user_id,
        signing_key=transfer.sender_signing_key,
    )
    sender_key = VerifyKey.from_b64(transfer.sender_signing_key)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise LocalError(f"cannot create {out}: {exc.strerror}") from exc
    results = []
    progress.start(sum(i.ciphertext_size for i in transfer.items), len(transfer.items))
    try:
        for item in transfer.items:
            if item.wrap is None:
                raise Forbidden(f"you hold no key for item {item.id}")
            manifest = _open_manifest(api, keys, transfer, item, sender_key)
            progress.file(manifest[1].relative_path, item.ciphertext_size)
            results.append(_receive_item(api, item, manifest, out, say, progress))
    finally:
        progress.finish()
    return results


def _open_manifest(
    api: Api, keys: UserKeys, transfer: TransferOut, item: ItemOut, sender_key: VerifyKey
) -> tuple[age.Identity, Manifest]:
    try:
        if item.wrap is None or item.sealed_manifest is None:
            raise IntegrityError("the server gave no key wrap or no sealed manifest")
        item_key = unwrap(item.wrap, keys.identity)
        sealed = Sealed(
            item=item.id,
            transfer=transfer.id,
            sender=transfer.sender.user_id,
            manifest_sha256=item.manifest_sha256,
            ciphertext_size=item.ciphertext_size,
            case=transfer.case,
        )
        envelope = age.decrypt(item.sealed_manifest, [item_key])
        manifest = open_sealed(envelope, sender_key, sealed)
    except CustodyError as exc:
        _report(api, item, verified=False, reason=f"manifest: {exc.message}")
        raise VerificationFailed(
            f"item {item.id} failed verification: {exc.message}",
            hint="nothing was written; tell the sender and your admin",
        ) from exc
    return item_key, manifest


def _receive_item(
    api: Api,
    item: ItemOut,
    opened: tuple[age.Identity, Manifest],
    out: Path,
    say: Say,
    progress: Progress,
) -> Received:
    item_key, manifest = opened
    target = _target(out, manifest)
    if target.exists():
        if _sha256_file(target) == manifest.sha256:
            progress.advance(item.ciphertext_size)
            say(f"  {manifest.relative_path}: already here and verified, item {item.id}")
            _report(api, item, verified=True)
            return Received(item.id, target, manifest)
        raise Conflict(
            f"{target} exists and is a different file", hint="choose another folder with --out"
        )
    try:
        _receive_into(api, item, item_key, manifest, target, say, progress)
    except IntegrityError as exc:
        _report(api, item, verified=False, reason=exc.message)
        raise VerificationFailed(
            f"item {item.id} ({manifest.relative_path}) failed verification: {exc.message}",
            hint="nothing was written; tell the sender and your admin",
        ) from exc
    _report(api, item, verified=True)
    say(
        f"  {manifest.relative_path}: {manifest.size} bytes, signature and SHA-256 verified, "
        f"item {item.id}"
    )
    return Received(item.id, target, manifest)


def _target(out: Path, manifest: Manifest) -> Path:
    """Where the item goes: under ``out``, in the folder its sender signed if any (each part
    a safe name: never '..', never absolute), and never through a symbolic link or into
    something that is not a folder."""
    folder = out
    if manifest.folder is not None:
        for part in safe_folder(manifest.folder).split("/"):
            folder = folder / part
            if folder.is_symlink() or (folder.exists() and not folder.is_dir()):
                raise Conflict(
                    f"{folder} is in the way: not a folder custody can write into",
                    hint="choose another folder with --out",
                )
            try:
                folder.mkdir(mode=0o700, exist_ok=True)
            except OSError as exc:
                raise LocalError(f"cannot create {folder}: {exc.strerror}") from exc
    return folder / safe_file_name(manifest.file_name)


def _receive_into(
    api: Api,
    item: ItemOut,
    item_key: age.Identity,
    manifest: Manifest,
    target: Path,
    say: Say,
    progress: Progress,
) -> None:
    """Download, decrypt and check in one pass; rename into place only if every check passed.

    The plaintext is written once, into a temporary file beside the target (named by the
    item, not the file: a 250-byte name plus a suffix would pass the file system's 255-byte
    limit; only the owner may read it, now and once renamed), while the ciphertext and the
    plaintext are hashed as they stream. The ciphertext is never written to disk.

    Resuming after an interruption (a killed client, a broken connection): the temporary
    file's whole 64 KiB chunks but the last one are kept; with the age header kept beside
    them (``downloads/<item>.age.head``) they are sealed again (same file key, nonce and
    counters: the same ciphertext) to rebuild the ciphertext's hash, and the rest is asked
    for with a Range request. Kept plaintext that was altered gives another ciphertext hash,
    so it fails like a tampered download: nothing is released and nothing is kept.
    """
    tmp = target.with_name(f".custody-{manifest.item}.tmp")
    downloads = home() / "downloads"
    head = downloads / f"{item.id}.age.head"
    try:
        downloads.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise LocalError(f"cannot create {downloads}: {exc.strerror}") from exc
    (downloads / f"{item.id}.age.part").unlink(missing_ok=True)  # an older client's download
    keep = False
    try:
        with (
            _local_writes(tmp),
            os.fdopen(os.open(tmp, os.O_RDWR | os.O_CREAT, 0o600), "r+b") as dst,
        ):
            os.fchmod(dst.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
            try:
                _stream_into(api, item, item_key, manifest, dst, head, say, progress)
            except (IntegrityError, LocalError, OSError):
                raise  # altered, or this disk failed: nothing is kept
            except BaseException:  # interrupted: what authenticated is kept to resume from
                keep = True
                raise
            dst.flush()
            os.fsync(dst.fileno())
        if target.exists():
            raise Conflict(
                f"{target} appeared while receiving", hint="choose another folder with --out"
            )
        os.replace(tmp, target)
    finally:
        if not keep:
            tmp.unlink(missing_ok=True)
            head.unlink(missing_ok=True)


def _stream_into(
    api: Api,
    item: ItemOut,
    item_key: age.Identity,
    manifest: Manifest,
    dst: BinaryIO,
    head: Path,
    say: Say,
    progress: Progress,
) -> None:
    total = manifest.ciphertext_size
    decryptor = age.Decryptor([item_key])
    cipher, plain = hashlib.sha256(), hashlib.sha256()
    offset = _resume(decryptor, dst, head, manifest, cipher, plain)
    if offset:
        say(f"  {manifest.relative_path}: resuming download at byte {offset}")
    else:
        dst.truncate(0)
    dst.seek(0, os.SEEK_END)
    progress.advance(offset)

    drop = _CacheDropper(dst)

    def emit(piece: memoryview) -> None:
        dst.write(piece)
        plain.update(piece)
        drop.wrote(len(piece))

    received, failure = _download(
        api, item, decryptor, emit, head, (offset, total), cipher, progress
    )
    if failure is None:
        try:
            size = decryptor.finish(emit)
        except age.DecryptionFailed as exc:
            failure = exc
    if received != total:
        raise IntegrityError("the ciphertext is not the size the sender signed")
    if cipher.hexdigest() != manifest.ciphertext_sha256:
        raise IntegrityError("the ciphertext is not what the sender signed")
    if failure is not None:
        raise failure
    if size != manifest.size or plain.hexdigest() != manifest.sha256:
        raise IntegrityError("the decrypted content is not what the sender signed")


def _download(
    api: Api,
    item: ItemOut,
    decryptor: age.Decryptor,
    emit: Callable[[memoryview], None],
    head: Path,
    span: tuple[int, int],
    cipher: hashlib._Hash,
    progress: Progress,
) -> tuple[int, age.DecryptionFailed | None]:
    """Fetch the ciphertext from ``offset`` on into ``decryptor``; the offset reached, and why
    decryption failed if it did (the rest is still read and hashed, to say what was altered)."""
    offset, total = span
    failure: age.DecryptionFailed | None = None
    received = offset
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    first: bytearray | None = None if offset else bytearray()  # the header, kept to resume
    limit = total - offset
    with (
        api.stream("GET", f"/api/v1/items/{item.id}/content", headers=headers) as response,
        ahead(_counted(response.iter_bytes(), cipher, limit), _AHEAD, "custody-download") as blocks,
    ):
        for block in blocks:
            if failure is None:
                try:
                    decryptor.feed(block, emit)
                except age.DecryptionFailed as exc:
                    failure = exc
                    first = None
            if first is not None:
                first += block
                if decryptor.prefix_size is not None:
                    write_private(head, bytes(first[: decryptor.prefix_size]))
                    first = None
            received += len(block)
            progress.advance(len(block))
    return received, failure


def _resume(
    decryptor: age.Decryptor,
    dst: BinaryIO,
    head: Path,
    manifest: Manifest,
    cipher: hashlib._Hash,
    plain: hashlib._Hash,
) -> int:
    """Where to download from: 0, or past the kept whole chunks sealed again."""
    have = os.fstat(dst.fileno()).st_size
    chunks = min(have // _CHUNK - 1, (manifest.size - 1) // _CHUNK)  # never the last chunk
    if chunks <= 0 or not head.exists():
        return 0
    prefix = head.read_bytes()
    if decryptor.read_prefix(prefix) != len(prefix):
        raise IntegrityError("the kept start of the download is damaged")
    cipher.update(prefix)
    dst.seek(0)
    dst.truncate(chunks * _CHUNK)
    offset = len(prefix)
    for _ in range(0, chunks, _KEEP_BATCH):
        block = dst.read(min(_KEEP_BATCH * _CHUNK, chunks * _CHUNK - dst.tell()))
        plain.update(block)
        offset = decryptor.resume(memoryview(block), cipher.update)
    return offset


class _CacheDropper:
    """Keep a large received file from filling the page cache: every ``_DROP_WINDOW`` bytes
    written, the newest window starts being written out and the one before it (written out
    by then) is dropped, so the fsync at the end has little left to do. The file is written
    once and not read back here."""

    def __init__(self, dst: BinaryIO) -> None:
        self._dst = dst
        self._since = 0

    def wrote(self, count: int) -> None:
        self._since += count
        if self._since >= _DROP_WINDOW:
            self._since = 0
            self._dst.flush()
            end = self._dst.tell()
            start = max(0, end - 2 * _DROP_WINDOW)
            drop_cached(self._dst.fileno(), start, end - start)


def _counted(blocks: Iterator[bytes], digest: hashlib._Hash, limit: int) -> Iterator[bytes]:
    """The response's blocks, hashed as they arrive; more than the signed size is refused."""
    seen = 0
    for block in blocks:
        seen += len(block)
        if seen > limit:
            raise IntegrityError("the ciphertext is not the size the sender signed")
        digest.update(block)
        yield block


def _report(api: Api, item: ItemOut, *, verified: bool, reason: str | None = None) -> None:
    body = ReceiptIn(
        manifest_sha256=item.manifest_sha256 or "0" * 64,
        verified=verified,
        reason=reason[:500] if reason else None,
    )
    if verified:
        api.act(f"/api/v1/items/{item.id}/receipt", body)
        return
    with contextlib.suppress(CustodyError):  # the local failure is what the user must see
        api.act(f"/api/v1/items/{item.id}/receipt", body)


def _sha256_file(path: Path) -> str:
    return _sha256_of(path).hexdigest()


def _sha256_of(path: Path) -> hashlib._Hash:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(_READ):
            digest.update(block)
    return digest


@contextlib.contextmanager
def _local_writes(path: Path) -> Iterator[None]:
    """A full disk or a read-only folder is a clear error, and leaves no partial plaintext."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise LocalError(
                f"the disk holding {path.parent} is full",
                hint="free some space and run the same command again",
            ) from exc
        raise LocalError(f"cannot write {path}: {exc.strerror}") from exc
