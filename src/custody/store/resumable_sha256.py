"""SHA-256 whose state can be saved between requests and resumed on another node.

An upload to the object store arrives in many requests, possibly on different server
nodes, and the SHA-256 of the whole ciphertext is recorded when it completes. hashlib
cannot export a hash's state, so this hashes with OpenSSL's SHA256_Init/Update/Final
(the very code hashlib uses, through its public ``SHA256_CTX``: eight state words, the
bit count, the unhashed block and its length — FIPS 180-4 §6.2) and saves that
structure as bytes. The state is never secret: it is a hash of ciphertext.

The structure's layout is checked once, at first use, against hashlib on pieces that
cross block boundaries; where the functions are missing or the check fails,
:func:`available` is False and callers hash the stored object once instead.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import hashlib
from typing import Self

_STATE_BYTES = 112  # sizeof(SHA256_CTX): h[8], Nl, Nh, data[16], num, md_len (32-bit each)
_BLOCK = 64  # bytes of a SHA-256 block
_DIGEST = 32  # bytes of a SHA-256 digest


class _Context(ctypes.Structure):
    _fields_ = [
        ("h", ctypes.c_uint32 * 8),
        ("nl", ctypes.c_uint32),
        ("nh", ctypes.c_uint32),
        ("data", ctypes.c_uint32 * 16),
        ("num", ctypes.c_uint32),
        ("md_len", ctypes.c_uint32),
    ]


@functools.cache
def _libcrypto() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("crypto")
    if name is None:
        return None
    try:
        lib = ctypes.CDLL(name)
        init, update, final = lib.SHA256_Init, lib.SHA256_Update, lib.SHA256_Final
    except (OSError, AttributeError):
        return None
    init.argtypes = [ctypes.c_void_p]
    update.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t]
    final.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    for function in (init, update, final):
        function.restype = ctypes.c_int
    return lib


class ResumableSha256:
    """A running SHA-256 that :meth:`state` saves and :meth:`resume` continues."""

    def __init__(self) -> None:
        lib = _libcrypto()
        if lib is None:
            raise RuntimeError("OpenSSL's SHA256_* functions are not available")
        self._lib = lib
        self._ctx = _Context()
        if lib.SHA256_Init(ctypes.byref(self._ctx)) != 1:
            raise RuntimeError("SHA256_Init failed")

    @classmethod
    def resume(cls, state: bytes) -> Self:
        if len(state) != _STATE_BYTES:
            raise ValueError("not a saved SHA-256 state")
        context = _Context.from_buffer_copy(state)
        # OpenSSL trusts these fields: a ``num`` past the block would make SHA256_Update
        # write outside the structure. The state comes from the object store; check it.
        bits_in_block = context.nl % (_BLOCK * 8)  # the bit count's low word
        if context.md_len != _DIGEST or bits_in_block != context.num * 8:
            raise ValueError("not a saved SHA-256 state")
        made = cls()
        made._ctx = context
        return made

    def update(self, data: bytes | bytearray | memoryview) -> None:
        if isinstance(data, bytes):  # OpenSSL reads the object's own buffer: no copy
            size, pointer = len(data), ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p)
        else:
            view = memoryview(data).cast("B")
            if view.readonly:
                view = memoryview(bytearray(view))
            size = view.nbytes
            pointer = ctypes.cast((ctypes.c_char * size).from_buffer(view), ctypes.c_void_p)
        if not size:
            return
        if self._lib.SHA256_Update(ctypes.byref(self._ctx), pointer, size) != 1:
            raise RuntimeError("SHA256_Update failed")

    def state(self) -> bytes:
        return ctypes.string_at(ctypes.byref(self._ctx), _STATE_BYTES)

    def hexdigest(self) -> str:
        """The digest of everything so far (this object can go on being updated)."""
        copy = _Context.from_buffer_copy(self._ctx)
        out = ctypes.create_string_buffer(32)
        if self._lib.SHA256_Final(out, ctypes.byref(copy)) != 1:
            raise RuntimeError("SHA256_Final failed")
        return out.raw.hex()


@functools.cache
def available() -> bool:
    """Whether saved states work here: OpenSSL's functions exist and agree with hashlib."""
    if _libcrypto() is None:
        return False
    pieces = [b"", b"a" * 55, b"b" * 9, bytes(range(256)) * 5, b"c"]
    try:
        running = ResumableSha256()
        for piece in pieces:
            running = ResumableSha256.resume(running.state())
            running.update(piece)
            running.update(bytearray(piece))
    except (RuntimeError, ValueError):
        return False
    expected = hashlib.sha256(b"".join(p + p for p in pieces)).hexdigest()
    return running.hexdigest() == expected
