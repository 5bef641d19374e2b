"""Ids from the server name files and URLs only in the one form custody makes them."""

from __future__ import annotations

import uuid

import pytest

from custody.client.ids import server_id, upload_path
from custody.errors import IntegrityError

GOOD_UPLOAD = "/api/v1/uploads/" + "0123456789abcdef" * 2
# A fixed uuid for the near misses: test ids must be the same in every collection (pytest-xdist
# compares its workers').
_FIXED = uuid.UUID("5d234b47-bc10-44f0-b7a0-44d39c90e13b")


def test_a_uuid_as_custody_makes_them_is_accepted() -> None:
    made = str(uuid.uuid4())
    assert server_id(made, "item id") == made
    assert upload_path(GOOD_UPLOAD) == GOOD_UPLOAD


@pytest.mark.parametrize("value", [
    "../../../../escaped", "/etc/passwd", str(_FIXED).upper(), str(_FIXED) + "/x",
    " " + str(_FIXED), _FIXED.hex, "", None, 7, ["a"],
])
def test_anything_else_is_refused_before_it_names_a_file(value: object) -> None:
    with pytest.raises(IntegrityError, match="malformed item id") as refused:
        server_id(value, "item id")
    assert "report it" in str(refused.value.hint)


@pytest.mark.parametrize("value", [
    "http://evil.example" + GOOD_UPLOAD, "//evil.example" + GOOD_UPLOAD, GOOD_UPLOAD + "/..",
    GOOD_UPLOAD + "?x=1", "/api/v1/uploads/../../items/x", GOOD_UPLOAD.upper(), None, "",
])
def test_an_upload_location_elsewhere_is_refused(value: object) -> None:
    with pytest.raises(IntegrityError, match="malformed upload location"):
        upload_path(value)
