"""The error codes, and the one table of their HTTP statuses.

The code says what happened whatever the transport; :data:`HTTP_STATUS` is the only place
a code becomes a status (the API's handlers, the tus endpoint, the middleware and the web
pages all read it), and a client turns a code back into an exception without reading any
message. No pydantic here: the core's exceptions (``custody.errors``) carry these codes.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    INVALID_INPUT = "invalid_input"
    NOT_AUTHENTICATED = "not_authenticated"
    SECOND_FACTOR_REQUIRED = "second_factor_required"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    CONFLICT = "conflict"
    GONE = "gone"
    PRECONDITION_FAILED = "precondition_failed"  # tus: a protocol version we do not speak
    PAYLOAD_TOO_LARGE = "payload_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    RANGE_NOT_SATISFIABLE = "range_not_satisfiable"
    INTEGRITY = "integrity"
    HEADERS_TOO_LARGE = "headers_too_large"
    CHECKSUM_MISMATCH = "checksum_mismatch"  # tus checksum extension
    SERVER_ERROR = "error"
    SERVER_UNAVAILABLE = "server_unavailable"
    STORAGE_FULL = "local"  # the server's disk refused (full, read-only)


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.INVALID_INPUT: 400,
    ErrorCode.NOT_AUTHENTICATED: 401,
    ErrorCode.SECOND_FACTOR_REQUIRED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.CONFLICT: 409,
    ErrorCode.GONE: 410,
    ErrorCode.PRECONDITION_FAILED: 412,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.RANGE_NOT_SATISFIABLE: 416,
    ErrorCode.INTEGRITY: 422,
    ErrorCode.HEADERS_TOO_LARGE: 431,
    ErrorCode.CHECKSUM_MISMATCH: 460,  # tus 1.0.0, checksum extension
    ErrorCode.SERVER_ERROR: 500,
    ErrorCode.SERVER_UNAVAILABLE: 503,
    ErrorCode.STORAGE_FULL: 507,
}
