"""A bundle's names.json (issue 16): the operator's signed names of the trail's actors, shown
only when its signature by the log's key verifies in the names context, and never mistaken
for, or made from, a checkpoint's signature."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest

from custody.bundle import verify_bundle
from custody.bundle.build import canonical
from custody.bundle.names import CONTEXT, Named, open_names, sign_names
from custody.crypto.signing import SigningKey
from custody.errors import IntegrityError, InvalidInput
from custody.ledger import note
from support.bundles import BUNDLE, LOG, ORIGIN

WHEN = datetime(2026, 11, 30, 13, 0, tzinfo=UTC)
JONES = Named("dc.jones@tvp.police.example", "Thames Valley Police", "officer")
PATEL = Named("a.patel@cps.example", "CPS Thames and Chiltern", "prosecutor")


def _members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _rezip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return out.getvalue()


def _actors() -> dict[str, Named]:
    """The bundle's own actors, each named."""
    trail = verify_bundle(BUNDLE, LOG.verifier.vkey).trail
    people = [JONES, PATEL]
    return {a: people[i % 2] for i, a in enumerate(sorted({t.actor for t in trail}))}


def _with_names(names: bytes) -> bytes:
    return _rezip({**_members(BUNDLE), "names.json": names})


def test_a_bundle_with_names_shows_them_and_says_whose_word_they_are() -> None:
    actors = _actors()
    report = verify_bundle(_with_names(sign_names(ORIGIN, WHEN, actors, LOG)), LOG.verifier.vkey)
    assert report.names is not None
    assert dict(report.names.actors) == actors
    assert report.names.signed_by == LOG.verifier.vkey
    assert report.names.issued_at == "2026-11-30T13:00:00Z"
    assert any("names.json" in c and LOG.verifier.vkey in c for c in report.checks)
    assert any("operator's attestation" in c for c in report.caveats)
    # Without one, nothing is named and nothing said.
    plain = verify_bundle(BUNDLE, LOG.verifier.vkey)
    assert plain.names is None
    assert not any("names.json" in c for c in plain.checks + plain.caveats)


def test_the_document_says_it_is_the_operators_word() -> None:
    doc = json.loads(sign_names(ORIGIN, WHEN, {"u1": JONES}, LOG))
    assert doc["format"] == "custody-names/v1"
    assert "not prove" in doc["statement"]
    assert doc["actors"] == {"u1": {"email": JONES.email, "org": JONES.org, "role": "officer"}}
    assert doc["signature"]["key"] == f"{LOG.name}+{LOG.key_id:08x}"


def test_every_one_byte_change_to_names_is_refused() -> None:
    signed = sign_names(ORIGIN, WHEN, {"u1": JONES, "u2": PATEL}, LOG)
    for pos in range(len(signed)):
        tampered = bytearray(signed)
        tampered[pos] ^= 0x01
        with pytest.raises(IntegrityError, match=r"names\.json"):
            open_names(bytes(tampered), LOG.verifier)


def test_a_tampered_names_file_fails_the_whole_bundle() -> None:
    signed = sign_names(ORIGIN, WHEN, _actors(), LOG).decode()
    swapped = signed.replace(JONES.email, "dc.smith@tvp.police.example")
    with pytest.raises(IntegrityError, match="does not verify: it was changed after"):
        verify_bundle(_with_names(swapped.encode()), LOG.verifier.vkey)


def test_names_signed_by_another_key_or_for_another_log_are_refused() -> None:
    other = note.Signer(ORIGIN, SigningKey(bytes(32)))
    with pytest.raises(IntegrityError, match="not the log's key"):
        open_names(sign_names(ORIGIN, WHEN, {"u1": JONES}, other), LOG.verifier)
    elsewhere = note.Signer("custody.example/other", LOG.key)
    with pytest.raises(IntegrityError, match=r"made by the log 'custody\.example/other'"):
        open_names(sign_names(elsewhere.name, WHEN, {"u1": JONES}, elsewhere), LOG.verifier)


def test_a_names_signature_is_never_a_checkpoints_and_the_other_way_round() -> None:
    """Domain separation: the names context starts with a NUL-terminated tag, and no signed
    note's text may hold a NUL, so neither signature stands for the other."""
    assert CONTEXT == b"custody-names/v1\0"
    with pytest.raises(InvalidInput, match="control characters"):
        note.sign(CONTEXT.decode() + "1\n", [LOG])
    # The bundle's own checkpoint signature, offered as a names signature, is refused.
    checkpoint = _members(BUNDLE)["checkpoint"]
    text, _, sigs = checkpoint.decode().partition("\n\n")
    note_sig = base64.b64decode(sigs.split()[-1])[4:]
    assert LOG.verifier.verify((text + "\n").encode(), note_sig)
    doc = json.loads(sign_names(ORIGIN, WHEN, {}, LOG))
    doc["signature"]["sig"] = base64.b64encode(note_sig).decode()
    with pytest.raises(IntegrityError, match="does not verify"):
        open_names(canonical(doc), LOG.verifier)
    # ...and a names signature does not verify as a note over the same bytes without context.
    body = json.loads(sign_names(ORIGIN, WHEN, {}, LOG))
    names_sig = base64.b64decode(body.pop("signature")["sig"])
    assert not LOG.verifier.verify(canonical(body), names_sig)


@pytest.mark.parametrize("bad", ["\x1b[2Jcleared", "line\nbreak", "bell\x07", "c1\x9b"])
def test_a_name_that_would_drive_the_terminal_is_refused(bad: str) -> None:
    signed = sign_names(ORIGIN, WHEN, {"u1": Named(bad, "org", "officer")}, LOG)
    with pytest.raises(IntegrityError, match="not text"):
        open_names(signed, LOG.verifier)


def test_names_json_is_bounded_like_the_manifest() -> None:
    huge = {f"u{i}": JONES for i in range(2000)}
    with pytest.raises(IntegrityError, match=r"names\.json"):
        verify_bundle(_with_names(sign_names(ORIGIN, WHEN, huge, LOG)), LOG.verifier.vkey)
