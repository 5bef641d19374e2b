"""One exception hierarchy for all of custody.

Each error carries a code (:class:`custody.protocol.errors.ErrorCode`), a message
saying what happened and, where there is one, a hint saying what to do next. What a
code means to a transport is decided once per adapter: the HTTP status in
``custody.protocol.errors.HTTP_STATUS`` (used by every HTTP answer), the exit code in
``custody.cli.output.EXIT_CODES``. Nothing here knows about either.

::

    CustodyError                 error              (a bug, if nothing more specific)
    ├── InvalidInput             invalid_input      malformed, or names something meaningless
    │   ├── RangeNotSatisfiable  range_not_satisfiable
    │   ├── PreconditionFailed   precondition_failed    a protocol version we do not speak
    │   ├── UnsupportedMediaType unsupported_media_type
    │   └── PayloadTooLarge      payload_too_large
    ├── NotAuthenticated         not_authenticated  no, wrong or expired credentials
    │   └── SecondFactorRequired second_factor_required  the password was right; now the code
    ├── Forbidden                forbidden          authenticated, but not allowed to do this
    ├── NotFound                 not_found          no such thing (or not visible to you)
    ├── Conflict                 conflict           exists already, or in the wrong state
    ├── Gone                     gone               revoked, expired or shredded
    ├── IntegrityError           integrity          content or ledger failed verification
    │   ├── ChecksumMismatch     checksum_mismatch  the bytes received are not those sent
    │   └── crypto.DecryptionFailed                 (opaque on purpose)
    ├── ServerUnavailable        server_unavailable the client could not reach the server
    └── LocalError               local              the machine refused (disk full, permissions)
"""

from __future__ import annotations

from custody.protocol.codes import ErrorCode


class CustodyError(Exception):
    """Base of every error custody raises on purpose."""

    code = ErrorCode.SERVER_ERROR

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def diagnostics(self) -> str:
        """The message for a person: what happened, then what to do."""
        if self.hint:
            return f"{self.message}\n  → {self.hint}"
        return self.message


class InvalidInput(CustodyError):
    """The input is malformed, or names something that cannot be meant."""

    code = ErrorCode.INVALID_INPUT


class RangeNotSatisfiable(InvalidInput):
    """The requested byte range lies outside the item."""

    code = ErrorCode.RANGE_NOT_SATISFIABLE

    def __init__(self, size: int) -> None:
        super().__init__(f"the item has {size} bytes; ask for a range within them")
        self.size = size


class PreconditionFailed(InvalidInput):
    """The request speaks a protocol version this server does not (tus)."""

    code = ErrorCode.PRECONDITION_FAILED


class UnsupportedMediaType(InvalidInput):
    """The body is not of the content type this endpoint takes."""

    code = ErrorCode.UNSUPPORTED_MEDIA_TYPE


class PayloadTooLarge(InvalidInput):
    """The request is larger than the server accepts."""

    code = ErrorCode.PAYLOAD_TOO_LARGE


class NotAuthenticated(CustodyError):
    """No credentials, wrong credentials, or an expired token."""

    code = ErrorCode.NOT_AUTHENTICATED


class SecondFactorRequired(NotAuthenticated):
    """The password was right; the sign-in needs a code from the authenticator app too."""

    code = ErrorCode.SECOND_FACTOR_REQUIRED


class Forbidden(CustodyError):
    """The caller is known but may not do this."""

    code = ErrorCode.FORBIDDEN


class NotFound(CustodyError):
    """No such object, or none the caller may see."""

    code = ErrorCode.NOT_FOUND


class Conflict(CustodyError):
    """The object exists already, or is not in a state that allows this."""

    code = ErrorCode.CONFLICT


class Gone(CustodyError):
    """The object was revoked, has expired, or was shredded."""

    code = ErrorCode.GONE


class IntegrityError(CustodyError):
    """Content, a signature or the ledger failed verification."""

    code = ErrorCode.INTEGRITY


class ChecksumMismatch(IntegrityError):
    """The bytes that arrived are not the bytes that were sent (tus ``Upload-Checksum``)."""

    code = ErrorCode.CHECKSUM_MISMATCH


class ServerUnavailable(CustodyError):
    """The client could not reach the custody server."""

    code = ErrorCode.SERVER_UNAVAILABLE


class LocalError(CustodyError):
    """The local machine refused: disk full, permission denied, missing file."""

    code = ErrorCode.STORAGE_FULL


_BY_CODE: dict[ErrorCode, type[CustodyError]] = {
    cls.code: cls
    for cls in (
        InvalidInput,
        RangeNotSatisfiable,
        PreconditionFailed,
        UnsupportedMediaType,
        PayloadTooLarge,
        NotAuthenticated,
        SecondFactorRequired,
        Forbidden,
        NotFound,
        Conflict,
        Gone,
        IntegrityError,
        ChecksumMismatch,
        ServerUnavailable,
    )
}


def from_code(code: str) -> type[CustodyError]:
    """The error class a server's ``{"error": {"code": ...}}`` stands for."""
    try:
        return _BY_CODE.get(ErrorCode(code), CustodyError)
    except ValueError:
        return CustodyError
