"""Reading an evidence bundle's zip: untrusted input, bounded memory, every fault named.

A bundle reaches its verifier from someone else, so its zip index, headers and
compressed streams are hostile until proven otherwise. :func:`read_members`
refuses traversal, duplicates, unexpected files, encryption and any
compression but deflate before it decompresses a byte; it then decompresses
each member in small chunks and stops at that member's limit, whatever the
headers claim; and it turns every fault :mod:`zipfile` and :mod:`zlib` raise
(bad CRC, truncated index, unknown method, broken stream) into an
:class:`IntegrityError` that names the member, or the index.

The limits come from the format, so the largest bundle custody makes stays
well inside them, and together they keep what any zip costs to verify under
100 MiB above the interpreter's baseline (about 80 at worst):

- ``entries/<N>``: an entry is at most 65535 bytes (tlog-tiles);
- ``checkpoint``: a signed note of a few hundred bytes, 64 KiB allowed;
- ``proofs/<N>.tlog-proof``: the bundle's checkpoint plus a header, an index
  line and at most 64 hashes (tlog-proof@v1);
- ``manifest.json``: a listing row and a share of a signed manifest per entry,
  in bytes and in JSON tokens (what parsing it costs);
- all members together: :data:`MAX_TOTAL`, room for the 9 999 entries that
  :data:`MAX_FILES` allows.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Sequence

from custody.errors import IntegrityError
from custody.ledger.tiles import MAX_ENTRY_SIZE

MAX_FILES = 20_000
MAX_TOTAL = 40 << 20  # decompressed bytes of all members together
MAX_CHECKPOINT = 64 << 10
PROOF_OVERHEAD = 4 << 10  # tlog-proof header, extra and index lines, <= 64 base64 hashes
# A listing row is about 300 bytes; an item's signed manifest 1.3 KB (2.8 KB
# with a long non-Latin file name), shared by the 4 or more entries of its trail.
MANIFEST_BASE, MANIFEST_PER_ENTRY = 64 << 10, 1 << 10
# What parsing manifest.json may cost: json.loads makes an object of every
# value, so "[[],[],...]" costs about 40 times its bytes, and deep nesting
# overflows the recursion limit. Counted in JSON tokens (strings, brackets,
# "," and ":"): a listing row has 18, an item at most 14 shared by the 3 or
# more entries of its trail (6 for an item without a signed manifest, with 1).
MANIFEST_BASE_TOKENS, MANIFEST_TOKENS_PER_ENTRY = 64, 32
MANIFEST_DEPTH = 8  # a bundle's manifest nests three deep
# The members read with json.loads: the manifest, and the optional names (bundle.names),
# an actor's row costing fewer bytes and tokens than the entry that names the actor.
_JSON_MEMBERS = ("manifest.json", "names.json")
# A JSON string (to its end, if cut short: possessive, so one pass) or one structural byte.
_JSON_TOKEN = re.compile(rb'"(?:[^"\\]|\\.|\\\Z)*+(?:"|\Z)|[\[\]{},:]', re.DOTALL)
# A central directory record is 46 bytes plus its name (at most 38 in a bundle)
# plus the extra fields zip tools add (timestamps, owner): 128 is generous.
_CD_RECORD = 128
MAX_ZIP_SIZE = MAX_TOTAL + MAX_FILES * 256  # members plus local and central headers
_CHUNK = 64 << 10
_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_ENCRYPTED = 0x01 | 0x40  # APPNOTE 4.4.4: bit 0 encrypted, bit 6 strong encryption
_EOCD, _EOCD_SIZE, _ZIP64_LOCATOR = b"PK\x05\x06", 22, b"PK\x06\x07"

# Everything zipfile and zlib raise on damaged input: a bad CRC, magic number or
# header (BadZipFile), an unknown method or flag (NotImplementedError), an
# encrypted member (RuntimeError), a broken deflate stream (zlib.error), a
# truncated one (EOFError), a seek outside the file (OSError), a short header
# (struct.error), a name that is not UTF-8 (UnicodeDecodeError, a ValueError).
_ZIP_FAULTS = (
    zipfile.BadZipFile,
    NotImplementedError,
    RuntimeError,
    zlib.error,
    EOFError,
    OSError,
    struct.error,
    ValueError,
)
FRESH_COPY = (
    "ask whoever gave you the bundle for a fresh copy: this one was damaged "
    "in storage or transit, or changed after it was made"
)

__all__ = ["MAX_FILES", "MAX_TOTAL", "MAX_ZIP_SIZE", "read_members"]


def read_members(zip_bytes: bytes) -> dict[str, bytes]:
    """Every member of the bundle by name; :class:`IntegrityError` naming what is wrong."""
    with _open(zip_bytes) as zf:
        infos = zf.infolist()
        entries = _check_index(infos)
        # The checkpoint first: a proof embeds it, so its size bounds every proof's.
        infos = sorted(infos, key=lambda info: info.filename != "checkpoint")
        files: dict[str, bytes] = {}
        total = 0
        for info in infos:
            checkpoint = files.get("checkpoint")
            limit = _member_limit(
                info.filename, entries, None if checkpoint is None else len(checkpoint)
            )
            data = _read_member(zf, info, limit)
            if info.filename in _JSON_MEMBERS:
                _check_manifest_cost(data, entries, info.filename)
            total += len(data)
            if total > MAX_TOTAL:  # zipfile stops at the declared sizes; this holds if not
                raise _too_big(f"at least {total}")
            files[info.filename] = data
    return files


def _open(zip_bytes: bytes) -> zipfile.ZipFile:
    if len(zip_bytes) > MAX_ZIP_SIZE:
        raise IntegrityError(
            f"the bundle is {len(zip_bytes)} bytes; a custody bundle is at most {MAX_ZIP_SIZE}",
            hint=FRESH_COPY,
        )
    count = _check_end_record(zip_bytes)
    try:
        zf = zipfile.ZipFile(io.BytesIO(zip_bytes))
    except _ZIP_FAULTS as exc:
        raise _damaged_index(_describe(exc)) from exc
    if len(zf.infolist()) != count:
        raise _damaged_index(f"it lists {len(zf.infolist())} files, its end record {count}")
    return zf


def _end_record(zip_bytes: bytes) -> tuple[int, int]:
    """The file count and central directory size the end record claims (APPNOTE 4.3.16).

    Found as :func:`zipfile._EndRecData` finds it: at the very end when there is
    no comment, else the last signature in the final 64 KiB.
    """
    pos = len(zip_bytes) - _EOCD_SIZE
    if not (pos >= 0 and zip_bytes.startswith(_EOCD, pos) and zip_bytes.endswith(b"\0\0")):
        pos = zip_bytes.rfind(_EOCD, max(pos - (1 << 16), 0))
    if pos < 0 or len(zip_bytes) - pos < _EOCD_SIZE:
        raise _damaged_index("it has no end record (the file is cut short, or is not a zip)")
    if pos >= 20 and zip_bytes.startswith(_ZIP64_LOCATOR, pos - 20):
        # A bundle is far below zip64's sizes, and zip64 records would override these claims.
        raise _damaged_index("it uses zip64 records, which a custody bundle never needs")
    _, _, _, _, count, size, _, _ = struct.unpack_from("<4s4H2LH", zip_bytes, pos)
    return count, size


def _check_end_record(zip_bytes: bytes) -> int:
    """The file count, once the end record's claims fit a bundle.

    zipfile makes an object of every central directory record (about 0.5 KiB
    each) before we could count them, so a directory too big for a bundle is
    refused from its end record's claims first.
    """
    count, size = _end_record(zip_bytes)
    if count > MAX_FILES:
        raise IntegrityError(f"the bundle has more than {MAX_FILES} files", hint=FRESH_COPY)
    if size > count * _CD_RECORD:
        raise _damaged_index(f"its central directory is {size} bytes for {count} files")
    return count


def _check_index(infos: Sequence[zipfile.ZipInfo]) -> int:
    """Refuse a bad name, method or claimed size before any decompression; the entry count."""
    names: set[str] = set()
    for info in infos:
        name = info.filename
        if name in names:
            raise IntegrityError(f"the bundle has two files named {name!r}", hint=FRESH_COPY)
        names.add(name)
        if name.startswith("/") or "\\" in name or ".." in name.split("/") or "\0" in name:
            raise IntegrityError(f"the bundle has an unsafe file name {name!r}", hint=FRESH_COPY)
        _member_limit(name, 0, None)  # refuses a file that is no part of a bundle
        if info.flag_bits & _ENCRYPTED:
            raise IntegrityError(
                f"{name}: encrypted, which a custody bundle never is", hint=FRESH_COPY
            )
        if info.compress_type not in _METHODS:
            raise IntegrityError(
                f"{name}: compressed with zip method {info.compress_type}; a custody bundle "
                f"uses only {' or '.join(_METHODS.values())}",
                hint=FRESH_COPY,
            )
    entries = sum(1 for name in names if name.startswith("entries/"))
    declared = 0
    for info in infos:
        limit = _member_limit(info.filename, entries, MAX_CHECKPOINT)
        if info.file_size > limit:
            raise IntegrityError(
                f"{info.filename}: larger than {limit} bytes (its header says {info.file_size})",
                hint=FRESH_COPY,
            )
        declared += info.file_size
    if declared > MAX_TOTAL:
        raise _too_big(f"its headers say {declared}")
    return entries


def _member_limit(name: str, entries: int, checkpoint: int | None) -> int:
    """The most bytes ``name`` may hold, given the entry count and the checkpoint's size."""
    if name in _JSON_MEMBERS:  # names.json: an address, role and organisation per actor
        return MANIFEST_BASE + MANIFEST_PER_ENTRY * entries
    if name == "checkpoint":
        return MAX_CHECKPOINT
    kind, _, rest = name.partition("/")
    if kind == "entries" and _is_index(rest):
        return MAX_ENTRY_SIZE
    if kind == "proofs" and rest.endswith(".tlog-proof") and _is_index(rest[: -len(".tlog-proof")]):
        return (MAX_CHECKPOINT if checkpoint is None else checkpoint) + PROOF_OVERHEAD
    raise IntegrityError(f"the bundle has an unexpected file {name!r}", hint=FRESH_COPY)


def _is_index(text: str) -> bool:
    return text.isascii() and text.isdigit() and (text == "0" or not text.startswith("0"))


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """The member's bytes, decompressed a chunk at a time and never more than ``limit``."""
    data = bytearray()
    try:
        with zf.open(info) as fh:
            # Read to the end, not to the declared size: zipfile checks the CRC only there.
            while chunk := fh.read(_CHUNK):
                data += chunk
                if len(data) > limit:
                    raise IntegrityError(
                        f"{info.filename}: larger than {limit} bytes", hint=FRESH_COPY
                    )
    except _ZIP_FAULTS as exc:
        raise IntegrityError(
            f"{info.filename}: the zip data is damaged ({_describe(exc)})", hint=FRESH_COPY
        ) from exc
    return bytes(data)


def _check_manifest_cost(data: bytes, entries: int, name: str = "manifest.json") -> None:
    """Refuse a JSON member (``name``) that would cost far more to parse than ``entries``
    need.

    Strings are read as JSON reads them, so a bracket inside one is no bracket,
    and the scan stops at the first token over the budget.
    """
    budget = MANIFEST_BASE_TOKENS + MANIFEST_TOKENS_PER_ENTRY * entries
    depth = 0
    for count, token in enumerate(_JSON_TOKEN.finditer(data), start=1):
        if count > budget:
            raise IntegrityError(
                f"{name}: more JSON values than a bundle of {entries} entries needs "
                f"(more than {budget} tokens)",
                hint=FRESH_COPY,
            )
        char = data[token.start()]
        depth += (char in b"[{") - (char in b"]}")
        if depth > MANIFEST_DEPTH:
            raise IntegrityError(
                f"{name}: nested more than {MANIFEST_DEPTH} deep; a bundle's JSON nests three deep",
                hint=FRESH_COPY,
            )


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__  # EOFError says nothing on its own


def _damaged_index(why: str) -> IntegrityError:
    return IntegrityError(
        f"the bundle's zip index (central directory) is damaged: {why}", hint=FRESH_COPY
    )


def _too_big(size: str) -> IntegrityError:
    return IntegrityError(
        f"the bundle expands to more than {MAX_TOTAL} bytes ({size}); "
        "no custody bundle is that large",
        hint=FRESH_COPY,
    )
