"""``custody receive``: download ciphertext, verify everything, and only then release a file.

Order of checks, each before the next step: the wrap opens with the reader's
key; the manifest decrypts and carries the sender's signature by the key the
ledger recorded; it names this item, transfer and case; the downloaded
ciphertext has the signed size and SHA-256; the plaintext, decrypted into a
temporary file beside the destination, has the signed size and SHA-256. Only
then is the temporary file renamed into place. Any failure deletes what was
written, reports the failure to the server (so it is in the ledger), and says
which item failed.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

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
from custody.protocol.transfers import ItemOut, ReceiptIn, TransferOut

Say = Callable[[str], None]
_READ = 1024 * 1024


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
    part = home() / "downloads" / f"{item.id}.age.part"
    ciphertext_sha256 = _download(api, item, part, say, manifest.relative_path, progress)
    try:
        _check_ciphertext(part, manifest, ciphertext_sha256)
        _decrypt_into_place(part, target, item_key, manifest)
    except IntegrityError as exc:
        part.unlink(missing_ok=True)
        _report(api, item, verified=False, reason=exc.message)
        raise VerificationFailed(
            f"item {item.id} ({manifest.relative_path}) failed verification: {exc.message}",
            hint="nothing was written; tell the sender and your admin",
        ) from exc
    part.unlink(missing_ok=True)
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


def _check_ciphertext(part: Path, manifest: Manifest, sha256: str) -> None:
    if part.stat().st_size != manifest.ciphertext_size:
        raise IntegrityError("the ciphertext is not the size the sender signed")
    if sha256 != manifest.ciphertext_sha256:
        raise IntegrityError("the ciphertext is not what the sender signed")


def _download(
    api: Api, item: ItemOut, part: Path, say: Say, name: str, progress: Progress
) -> str:
    """Fetch the ciphertext into ``part``, resuming; its SHA-256, hashed as it arrives."""
    part.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    have = part.stat().st_size if part.exists() else 0
    total = item.ciphertext_size
    if have > total:
        part.unlink()
        have = 0
    digest = _sha256_of(part) if have else hashlib.sha256()
    progress.advance(have)
    if have == total:
        return digest.hexdigest()
    if have:
        say(f"  {name}: resuming download at byte {have}")
    headers = {"Range": f"bytes={have}-"} if have else {}
    with (
        api.stream("GET", f"/api/v1/items/{item.id}/content", headers=headers) as response,
        _local_writes(part),
        part.open("ab") as f,
    ):
        for block in response.iter_bytes(_READ):
            f.write(block)
            digest.update(block)
            progress.advance(len(block))
    return digest.hexdigest()


def _decrypt_into_place(
    part: Path, target: Path, item_key: age.Identity, manifest: Manifest
) -> None:
    # Named by the item, not the file: a 250-byte file name plus a suffix would pass the
    # file system's 255-byte limit. Only the owner may read it, now and once renamed.
    tmp = target.with_name(f".custody-{manifest.item}.tmp")
    digest = hashlib.sha256()
    try:
        with (
            _local_writes(tmp),
            part.open("rb") as src,
            os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as dst,
        ):
            os.fchmod(dst.fileno(), 0o600)  # an existing file keeps its mode through O_CREAT
            size = age.decrypt_stream(src, dst, [item_key], on_plaintext=digest.update)
            dst.flush()
            os.fsync(dst.fileno())
        if size != manifest.size or digest.hexdigest() != manifest.sha256:
            raise IntegrityError("the decrypted content is not what the sender signed")
        if target.exists():
            raise Conflict(
                f"{target} appeared while receiving", hint="choose another folder with --out"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


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
