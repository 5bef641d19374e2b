"""One exception hierarchy for all of custody.

Adapters map these to HTTP status codes (``custody.http.errors``) and CLI exit
codes (``custody.cli.output``) in exactly one place each. Every message says
what happened and, where there is one, what to do next.

::

    CustodyError                      exit 1
    ├── InvalidInput                  400  the request is malformed or refers to nonsense
    ├── NotAuthenticated              401  no, wrong or expired credentials
    │   └── SecondFactorRequired           the password was right; now the code, please
    ├── Forbidden                     403  authenticated, but not allowed to do this
    ├── NotFound                      404  no such thing (or not visible to you)
    ├── Conflict                      409  the thing exists already, or is in the wrong state
    ├── Gone                          410  revoked, expired or shredded
    ├── IntegrityError                422  content or ledger failed verification
    │   └── crypto.DecryptionFailed        (opaque on purpose)
    ├── ServerUnavailable             ---  the client could not reach the server
    └── LocalError                    ---  the local machine refused (disk full, permissions)
"""

from __future__ import annotations


class CustodyError(Exception):
    """Base of every error custody raises on purpose."""

    status_code = 500
    exit_code = 1
    code = "error"

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

    status_code = 400
    exit_code = 2
    code = "invalid_input"


class NotAuthenticated(CustodyError):
    """No credentials, wrong credentials, or an expired token."""

    status_code = 401
    exit_code = 3
    code = "not_authenticated"


class SecondFactorRequired(NotAuthenticated):
    """The password was right; the sign-in needs a code from the authenticator app too."""

    code = "second_factor_required"


class Forbidden(CustodyError):
    """The caller is known but may not do this."""

    status_code = 403
    exit_code = 4
    code = "forbidden"


class NotFound(CustodyError):
    """No such object, or none the caller may see."""

    status_code = 404
    exit_code = 5
    code = "not_found"


class Conflict(CustodyError):
    """The object exists already, or is not in a state that allows this."""

    status_code = 409
    exit_code = 6
    code = "conflict"


class Gone(CustodyError):
    """The object was revoked, has expired, or was shredded."""

    status_code = 410
    exit_code = 7
    code = "gone"


class IntegrityError(CustodyError):
    """Content, a signature or the ledger failed verification."""

    status_code = 422
    exit_code = 8
    code = "integrity"


class ServerUnavailable(CustodyError):
    """The client could not reach the custody server."""

    exit_code = 9
    code = "server_unavailable"


class LocalError(CustodyError):
    """The local machine refused: disk full, permission denied, missing file."""

    exit_code = 10
    code = "local"


_BY_CODE: dict[str, type[CustodyError]] = {
    cls.code: cls
    for cls in (
        InvalidInput,
        NotAuthenticated,
        SecondFactorRequired,
        Forbidden,
        NotFound,
        Conflict,
        Gone,
        IntegrityError,
    )
}


def from_code(code: str) -> type[CustodyError]:
    """The error class a server's ``{"error": {"code": ...}}`` stands for."""
    return _BY_CODE.get(code, CustodyError)
