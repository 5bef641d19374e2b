"""Signed notes, checkpoints and tlog-proof files: round trips and refusals."""

from __future__ import annotations

import pytest

from custody.crypto.signing import SigningKey
from custody.errors import IntegrityError, InvalidInput
from custody.ledger import note
from custody.ledger.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from custody.ledger.merkle import MemoryTree, inclusion_proof, leaf_hash
from custody.ledger.proof_file import format_proof, parse_proof, verify_proof_file

ORIGIN = "custody.example/ledger"
SIGNER = note.Signer(ORIGIN, SigningKey(bytes(range(32))))


def test_checkpoint_text_round_trip_with_extensions() -> None:
    cp = Checkpoint(ORIGIN, 109482, bytes(range(32)), ("ext one",))
    text = cp.to_text()
    assert text == f"{ORIGIN}\n109482\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\next one\n"
    assert Checkpoint.parse(text) == cp


@pytest.mark.parametrize(
    "text",
    [
        "o\n01\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",  # leading zero
        "o\n1\nAAEC\n",  # short hash
        "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",  # no final newline
        "o\n1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n\n",  # empty extension
        "o\n-1\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
        "o\n1\n",
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        Checkpoint.parse(text)


def test_a_signature_line_outside_ascii_is_a_note_error() -> None:
    signed = note.sign("text\n", [SIGNER])
    text, sig = signed.decode().rsplit(" ", 1)
    for hostile in (sig.replace("A", "\u00c5", 1), "\u00e9" + sig):
        with pytest.raises(note.NoteError, match="is not base64"):
            note.open(f"{text} {hostile}".encode(), [SIGNER.verifier])
    assert note.open(signed, [SIGNER.verifier]).text == "text\n"


def test_signed_checkpoint_opens_only_for_its_key_and_origin() -> None:
    cp = Checkpoint(ORIGIN, 3, bytes(32))
    signed = sign_checkpoint(cp, SIGNER)
    assert open_checkpoint(signed, SIGNER.verifier, ORIGIN) == cp
    other = note.Signer(ORIGIN, SigningKey(bytes(32)))
    with pytest.raises(IntegrityError):
        open_checkpoint(signed, other.verifier, ORIGIN)
    with pytest.raises(IntegrityError, match="not 'elsewhere'"):
        open_checkpoint(signed, SIGNER.verifier, "elsewhere")
    with pytest.raises(InvalidInput):
        sign_checkpoint(Checkpoint("another.origin", 3, bytes(32)), SIGNER)


def _tree_and_note(size: int) -> tuple[MemoryTree, bytes]:
    tree = MemoryTree()
    for i in range(size):
        tree.append(f"e{i}".encode())
    return tree, sign_checkpoint(Checkpoint(ORIGIN, size, tree.root()), SIGNER)


def test_proof_file_round_trip_and_verification() -> None:
    tree, signed = _tree_and_note(13)
    proof = inclusion_proof(tree, 5, 13)
    data = format_proof(5, proof, signed, extra=b"context")
    assert data.startswith(b"c2sp.org/tlog-proof@v1\nextra Y29udGV4dA==\nindex 5\n")
    parsed = parse_proof(data)
    assert (parsed.index, list(parsed.hashes), parsed.checkpoint, parsed.extra) == (
        5,
        proof,
        signed,
        b"context",
    )
    assert verify_proof_file(b"e5", data, SIGNER.verifier, ORIGIN).size == 13
    with pytest.raises(IntegrityError, match="inclusion proof"):
        verify_proof_file(b"e6", data, SIGNER.verifier, ORIGIN)
    assert leaf_hash(b"e5") == tree.nodes([(0, 5)])[0]


@pytest.mark.parametrize(
    "mangle",
    [
        lambda d: d.replace(b"@v1", b"@v2"),
        lambda d: d.replace(b"index 5", b"index 05"),
        lambda d: d.replace(b"index 5\n", b""),
        lambda d: d.replace(b"\n\n", b"\n", 1),
    ],
)
def test_malformed_proof_files_are_refused(mangle: object) -> None:
    tree, signed = _tree_and_note(13)
    data = format_proof(5, inclusion_proof(tree, 5, 13), signed)
    with pytest.raises(IntegrityError, match="malformed tlog-proof"):
        verify_proof_file(b"e5", mangle(data), SIGNER.verifier, ORIGIN)  # type: ignore[operator]
