"""The OpenAPI document, true to what the server answers.

FastAPI documents bodies and successful answers from the protocol models. This adds what
it cannot see: each route's policy (``x-custody-policy``) and security scheme, read from
the ``requires(...)`` the route declares; the error answers, in custody's one envelope,
that the policy (401, 403), the inputs (400), the middleware (413, 431) and the route's
own declared failures (:func:`fails`) can give; and no FastAPI 422 "validation error"
(custody answers 400 for those).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from custody.domain.policy import Policy
from custody.http.policy import declared_routes, is_web
from custody.protocol.codes import HTTP_STATUS, ErrorCode
from custody.protocol.errors import ErrorEnvelope

_CONVERTER = re.compile(r"\{(\w+):\w+\}")
_ERROR_SCHEMA = {"$ref": "#/components/schemas/ErrorEnvelope"}
_DESCRIBED = {
    400: "the request is malformed",
    401: "no, wrong or expired credentials",
    403: "this caller may not do this",
    404: "no such thing, or none the caller may see",
    409: "it exists already, or is not in a state that allows this",
    410: "revoked, expired or shredded",
    412: "a protocol version this server does not speak",
    413: "the request is too large",
    415: "the body is not of the content type this takes",
    416: "the range is outside the item",
    422: "it failed verification",
    431: "the request's headers are too large",
    460: "the bytes received are not the bytes sent (tus checksum)",
    500: "the server failed; nothing was changed",
    503: "the server cannot answer now; try again",
    507: "the server's storage refused",
}


def fails(*codes: ErrorCode) -> dict[int | str, dict[str, Any]]:
    """A route's own failures (beyond its policy's and its inputs'), for ``responses=``."""
    return {
        HTTP_STATUS[c]: {"model": ErrorEnvelope, "description": _DESCRIBED[HTTP_STATUS[c]]}
        for c in codes
    }


def document(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document, with policies, security and every error answer."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = app.openapi()
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas["ErrorEnvelope"] = ErrorEnvelope.model_json_schema(
        ref_template="#/components/schemas/{model}"
    )
    for name, sub in schemas["ErrorEnvelope"].pop("$defs", {}).items():
        schemas.setdefault(name, sub)
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    components["securitySchemes"] = {
        "bearer": {
            "type": "http",
            "scheme": "bearer",
            "description": "a token from POST /api/v1/login (custody login)",
        }
    }
    for declared in declared_routes(app.routes):
        route = declared.route
        if not isinstance(route, APIRoute) or not route.include_in_schema or is_web(route):
            continue
        for method in declared.methods:
            path = _CONVERTER.sub(r"{\1}", declared.path)  # /tile/{path:path} → /tile/{path}
            operation = schema["paths"].get(path, {}).get(method.lower())
            if operation is not None and declared.policy is not None:
                _complete(operation, route, declared.policy)
    app.openapi_schema = schema
    return schema


def _takes_parameters(dependant: Dependant) -> bool:
    """Whether the route, or any dependency of it, reads the path, query or headers."""
    own = dependant.path_params or dependant.query_params or dependant.header_params
    return bool(own) or any(_takes_parameters(sub) for sub in dependant.dependencies)


def _complete(operation: dict[str, Any], route: APIRoute, policy: Policy) -> None:
    operation["x-custody-policy"] = policy.value
    statuses = {413, 431, 500}
    if route.body_field or _takes_parameters(route.dependant):
        statuses.add(400)
    if policy is not Policy.PUBLIC:
        operation["security"] = [{"bearer": []}]
        statuses |= {401, 403}
    responses = operation.setdefault("responses", {})
    declared = {int(s) for s in route.responses if int(s) >= 400}  # the route's own fails()
    if 422 not in declared:
        responses.pop("422", None)  # FastAPI's "validation error": custody answers 400
    for status in sorted(statuses | declared):
        responses[str(status)] = {
            "description": _DESCRIBED.get(status, "an error"),
            "content": {"application/json": {"schema": _ERROR_SCHEMA}},
        }
