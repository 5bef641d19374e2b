"""schemathesis against our own OpenAPI document: no 5xx, no response that breaks the schema.

Every operation of ``/openapi.json`` gets a bounded number of generated requests
(``CUSTODY_FUZZ_EXAMPLES``, default 25), with a fresh token of an officer who
has keys, a case and a sent transfer, so generated requests reach the services
and not only the policy gate. Runs in CI as part of the suite.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from custody.domain.people import Role
from support.in_process import in_process
from support.world import CPS, POLICE

# tus PATCH bodies: raw bytes (schemathesis has no serializer of its own for this type).
schemathesis.openapi.media_type("application/offset+octet-stream", st.binary(max_size=64))
EXAMPLES = int(os.environ.get("CUSTODY_FUZZ_EXAMPLES", "25"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,  # every status answered is documented
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


def _fuzzer(operation: Any, headers: dict[str, str]) -> Callable[[], None]:
    @given(case=operation.as_strategy(), anonymous=st.booleans())
    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def fuzz(case: schemathesis.Case, anonymous: bool) -> None:
        case.call_and_validate(headers={} if anonymous else headers, checks=CHECKS)

    return fuzz  # type: ignore[no-any-return]


@pytest.mark.slow  # over three seconds: the whole suite runs it, the fast run does not
def test_no_operation_errs_or_breaks_its_schema(tmp_path: Path) -> None:
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        officer = w.add("officer", "dc.jones@tvp.police.example", POLICE, Role.OFFICER)
        prosecutor = w.add("prosecutor", "a.patel@cps.example", CPS, Role.PROSECUTOR)
        for member in (officer, prosecutor):
            w.register_keys(member)
        w.transfer(officer, CPS, "47TV0000001", send=True)
        schema = schemathesis.openapi.from_asgi("/openapi.json", w.app)
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 30
        failures: list[str] = []
        for operation in operations:
            # "Revoke all my tokens" is a legitimate request: every operation gets its own token.
            headers = {"Authorization": f"Bearer {w.login(officer)['token']}"}
            try:
                _fuzzer(operation, headers)()
            except Exception as exc:  # noqa: BLE001 - collect every operation's failure
                failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
        assert failures == []


def test_the_document_is_valid_and_declares_every_policy(tmp_path: Path) -> None:
    """OpenAPI 3.1 as the validator reads it; each operation names its policy, asks for
    the bearer token unless public, and documents no FastAPI 422 custody never answers."""
    with in_process(tmp_path, f"sqlite:///{tmp_path / 'custody.db'}") as w:
        document = w.client.get("/openapi.json").json()
    validate(document)
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            where = f"{method.upper()} {path}"
            policy = operation.get("x-custody-policy")
            assert policy, f"{where} declares no policy"
            assert ("security" in operation) == (policy != "public"), where
            for status, answer in operation["responses"].items():
                if status == "422":
                    assert "verification" in answer["description"], f"{where}: FastAPI's 422"
