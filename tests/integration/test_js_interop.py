"""The browser library (js/) and custody's Python read and write the same bytes, both ways.

Python makes a key file, a content file with a SealPlan, a wrap, a signed manifest and a
ledger (checkpoints, a consistency proof, an inclusion proof); node (``js/test/interop.ts``,
compiled by ``js/test/run.mjs``) opens and verifies each and says what it found. Then node
makes keys, a content file (by random access, out of order), a signed manifest and a wrap;
Python and the Debian ``age`` tool open them. One flipped byte is refused on both sides.
Last, a table of hostile inputs (manifests, envelopes, ledger entries, key files, base64
spellings) gets the same verdict, and the same message, from both parsers.

Skipped only if ``node`` is missing outside CI; under ``CI`` a missing node fails.
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from custody.crypto.age import DecryptionFailed, Identity, SealPlan, decrypt_stream
from custody.crypto.items import new_item_key, unwrap, wrap
from custody.crypto.keys import UserKeys, WrongPassphrase
from custody.crypto.manifest import Manifest, SignedManifest
from custody.crypto.signing import BadSignature, SigningKey, VerifyKey
from custody.errors import CustodyError
from custody.ledger import merkle, note
from custody.ledger.checkpoint import Checkpoint, sign_checkpoint
from custody.ledger.entry import Entry
from support.age import AGE
from support.paths import REPO_ROOT

JS = REPO_ROOT / "js"
NODE = shutil.which("node")
PASSPHRASE = "correct horse battery staple \u00e9t\u00e9"  # noqa: S105 - a test passphrase
USER_ID = "71680909-547d-4901-9746-2616ff5e353c"
ORIGIN = "custody.example/log"
CHUNK = 64 * 1024


@pytest.fixture(scope="module")
def interop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The compiled node script (``interop.mjs``)."""
    if NODE is None:
        if os.environ.get("CI"):
            pytest.fail("node is required under CI (scripts/test.sh installs nodejs)")
        pytest.skip("node is not installed: the browser library's interop cannot run")
    if not (JS / "node_modules" / "esbuild").is_dir():
        pytest.fail("js/node_modules is missing: run `cd js && npm ci` (scripts/test.sh does)")
    out = tmp_path_factory.mktemp("js-build")
    subprocess.run(
        [NODE, str(JS / "test" / "run.mjs"), "--outdir", str(out)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return out / "interop.mjs"


def _node(script: Path, *args: str) -> Any:
    assert NODE is not None
    done = subprocess.run(
        [NODE, "--enable-source-maps", str(script), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"node failed:\n{done.stderr}"
    return json.loads(done.stdout)


def _flip(data: bytes, at: int) -> bytes:
    out = bytearray(data)
    out[at] ^= 1
    return bytes(out)


def _age_tool(identity_file: Path, data: bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [AGE, "-d", "-i", str(identity_file)],
        input=data,
        capture_output=True,
        timeout=60,
        check=False,
    )


def _python_world(folder: Path) -> dict[str, Any]:
    """Everything a Python sender and a Python server would have made, written to ``folder``."""
    keys = UserKeys.generate()
    (folder / "keys.age").write_bytes(keys.seal(PASSPHRASE))  # work factor 2^17, as keys init
    item_key = new_item_key()
    (folder / "wrap.age").write_bytes(wrap(item_key, keys.identity.recipient))
    plaintext = bytes((i * 7 + (i >> 12)) & 0xFF for i in range(5 * CHUNK + 1234))
    plan = SealPlan.create([item_key.recipient])
    content = b"".join(plan.iter_ciphertext(io.BytesIO(plaintext), len(plaintext)))
    (folder / "content.age").write_bytes(content)
    (folder / "plan.bin").write_bytes(plan.to_secret_bytes())
    manifest = Manifest(
        item="ca8a96d9-1234-4abc-8def-0123456789ab",
        transfer="abc98e46-1234-4abc-8def-0123456789ab",
        case="47XX1234567",
        file_name="Interview \u2014 \u00e9t\u00e9 \U0001f3a5.mp4",
        size=len(plaintext),
        sha256=hashlib.sha256(plaintext).hexdigest(),
        ciphertext_size=len(content),
        ciphertext_sha256=hashlib.sha256(content).hexdigest(),
        item_recipient=item_key.recipient.to_string(),
        sender=USER_ID,
        signing_key=keys.signing_public,
        created_at="2026-11-25T07:35:00Z",
    )
    (folder / "manifest.signed").write_bytes(
        SignedManifest.sign(manifest, keys.signing_key).to_bytes()
    )

    signer = note.Signer(ORIGIN, SigningKey.generate())
    (folder / "log-key.txt").write_text(signer.verifier.vkey + "\n")
    tree = merkle.MemoryTree()
    when = datetime(2026, 11, 25, 7, 40, 49, 123456, tzinfo=UTC)
    for i in range(6):
        tree.append(Entry(type="user:created", time=when, actor="system", data={"n": i}).to_bytes())
    registered = Entry(
        type="key:registered",
        time=when,
        actor=USER_ID,
        data={"age_recipient": keys.age_recipient, "signing_key": keys.signing_public},
    ).to_bytes()
    index = tree.append(registered)
    for i in range(6):
        tree.append(Entry(type="case:created", time=when, actor=USER_ID, data={"n": i}).to_bytes())
    old, new = 5, tree.size
    for name, size in (("checkpoint-old", old), ("checkpoint-new", new)):
        cp = Checkpoint(ORIGIN, size, tree.root(size))
        (folder / name).write_bytes(sign_checkpoint(cp, signer))
    b64 = lambda raw: base64.b64encode(raw).decode()  # noqa: E731 - one-line helper
    (folder / "consistency.json").write_text(
        json.dumps(
            {
                "old": old,
                "new": new,
                "proof": [b64(h) for h in merkle.consistency_proof(tree, old, new)],
            }
        )
    )
    (folder / "proven.json").write_text(
        json.dumps(
            {
                "index": index,
                "entry": b64(registered),
                "proof": [b64(h) for h in merkle.inclusion_proof(tree, index, new)],
            }
        )
    )
    (folder / "info.json").write_text(
        json.dumps({"passphrase": PASSPHRASE, "user_id": USER_ID, "resume_at": len(content) // 3})
    )
    return {
        "keys": keys,
        "item_key": item_key,
        "plaintext": plaintext,
        "content": content,
        "manifest": manifest,
        "root": b64(tree.root(new)),
        "new": new,
    }


def test_node_opens_and_verifies_what_python_made(interop: Path, tmp_path: Path) -> None:
    world = _python_world(tmp_path)
    found = _node(interop, "open", str(tmp_path))
    keys = world["keys"]
    assert found["keys"] == {
        "age_recipient": keys.age_recipient,
        "signing_public": keys.signing_public,
    }
    assert found["item_key_recipient"] == world["item_key"].recipient.to_string()
    assert found["content_sha256"] == hashlib.sha256(world["plaintext"]).hexdigest()
    assert found["range_matches"] is True
    assert found["plan_regenerates"] is True, "node's SealPlan made other bytes than Python's"
    assert found["plan_resumes"] is True
    assert found["manifest"] == {k: getattr(world["manifest"], k) for k in found["manifest"]}
    assert len(found["manifest"]) == 12
    assert found["manifest_hashes_match"] is True
    assert found["ledger"] == {
        "old_size": 5,
        "new_size": world["new"],
        "needed": {"old": 5, "new": world["new"]},
        "entry_type": "key:registered",
        "entry_actor": USER_ID,
        "root": world["root"],
    }
    refused = found["refused"]
    opaque = (
        "DecryptionFailed: the file could not be decrypted: wrong key, or the file is damaged or "
        "was altered"
    )
    assert refused["keys"] == "WrongPassphrase: the passphrase does not open this key file"
    assert refused["wrap"] == opaque
    assert refused["content"] == opaque
    assert refused["content_header"] == opaque
    assert refused["plan"] == "InvalidInput: the seal plan's header does not match its file key"
    assert refused["manifest"] == "BadSignature: signature does not verify"
    assert refused["signature"] == "BadSignature: signature does not verify"
    assert refused["checkpoint"].startswith("NoteError: ")
    assert refused["consistency"].startswith("SplitView: the tree of 13 entries does not extend")
    assert refused["inclusion"].startswith("InvalidProof: inclusion proof of leaf 6")


def test_python_and_age_open_what_node_made(interop: Path, age_tool: str, tmp_path: Path) -> None:
    reader = Identity.generate()
    (tmp_path / "reader.txt").write_text(reader.to_string() + "\n")
    size = 3 * CHUNK + 77
    (tmp_path / "request.json").write_text(
        json.dumps({"passphrase": PASSPHRASE, "reader": reader.recipient.to_string(), "size": size})
    )
    made = _node(interop, "make", str(tmp_path))
    plaintext = (tmp_path / "content.bin").read_bytes()
    content = (tmp_path / "content.age").read_bytes()

    keys = UserKeys.unseal((tmp_path / "keys.age").read_bytes(), PASSPHRASE)
    assert (keys.age_recipient, keys.signing_public) == (
        made["age_recipient"],
        made["signing_public"],
    )

    item_key = unwrap((tmp_path / "wrap.age").read_bytes(), reader)
    assert item_key.recipient.to_string() == made["item_key_recipient"]
    tool_key = _age_tool(tmp_path / "reader.txt", (tmp_path / "wrap.age").read_bytes())
    assert tool_key.returncode == 0, tool_key.stderr
    assert tool_key.stdout.decode() == (tmp_path / "item.key").read_text()

    out = io.BytesIO()
    assert decrypt_stream(io.BytesIO(content), out, [item_key]) == size
    assert out.getvalue() == plaintext
    tool = _age_tool(tmp_path / "item.key", content)
    assert tool.returncode == 0, tool.stderr
    assert tool.stdout == plaintext
    # Python's SealPlan, given node's plan bytes, regenerates node's file exactly.
    plan = SealPlan.from_secret_bytes((tmp_path / "plan.bin").read_bytes())
    assert b"".join(plan.iter_ciphertext(io.BytesIO(plaintext), size)) == content

    signed = SignedManifest.from_bytes((tmp_path / "manifest.signed").read_bytes())
    manifest = signed.verify(VerifyKey.from_b64(keys.signing_public))
    assert signed.manifest_bytes == (tmp_path / "manifest.bytes").read_bytes()
    assert manifest.to_bytes() == signed.manifest_bytes, "node's manifest bytes are not canonical"
    assert manifest.sha256 == made["plaintext_sha256"]
    assert manifest.ciphertext_size == made["ciphertext_size"] == len(content)

    # One flipped byte: refused by Python and by the age tool alike.
    with pytest.raises(WrongPassphrase):
        UserKeys.unseal(_flip((tmp_path / "keys.age").read_bytes(), -3), PASSPHRASE)
    bad_wrap = _flip((tmp_path / "wrap.age").read_bytes(), -5)
    with pytest.raises(DecryptionFailed):
        unwrap(bad_wrap, reader)
    assert _age_tool(tmp_path / "reader.txt", bad_wrap).returncode != 0
    bad_content = _flip(content, len(content) - 40)
    with pytest.raises(DecryptionFailed):
        decrypt_stream(io.BytesIO(bad_content), io.BytesIO(), [item_key])
    assert _age_tool(tmp_path / "item.key", bad_content).returncode != 0
    with pytest.raises(BadSignature):
        SignedManifest(_flip(signed.manifest_bytes, 20), signed.signature).verify(
            VerifyKey.from_b64(keys.signing_public)
        )


# ── The same verdict, and the same message, on hostile input ─────────────────────────


def _verdict(kind: str, data: bytes) -> str:
    try:
        if kind == "manifest":
            Manifest.from_bytes(data)
        elif kind == "signed":
            SignedManifest.from_bytes(data)
        elif kind == "entry":
            Entry.from_bytes(data)
        elif kind == "keys":
            UserKeys._parse(data)
        else:
            try:
                return base64.b64encode(base64.b64decode(data.decode(), validate=True)).decode()
            except ValueError:
                return "refused"
    except CustodyError as exc:
        return f"{type(exc).__name__}: {exc.message}"
    return "ok"


def _manifest_doc(**changes: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "v": 1,
        "item": "i",
        "transfer": "t",
        "case": "c",
        "file_name": "a.mp4",
        "size": 10,
        "sha256": "a" * 64,
        "ciphertext_size": 300,
        "ciphertext_sha256": "b" * 64,
        "item_recipient": "age1x",
        "sender": "s",
        "signing_key": base64.b64encode(bytes(32)).decode(),
        "created_at": "2026-11-25T07:35:00Z",
    }
    for key, value in changes.items():
        if value is ...:
            del doc[key]
        else:
            doc[key] = value
    return doc


def _hostile_inputs() -> list[tuple[str, bytes]]:
    dump = lambda d: json.dumps(d).encode()  # noqa: E731 - one-line helper
    manifests = [
        dump(_manifest_doc()),
        dump(_manifest_doc(v=True)),
        dump(_manifest_doc(v=2)),
        dump(_manifest_doc(v=...)),
        dump(_manifest_doc(sender=...)),
        dump(_manifest_doc(extra=1)),
        dump(_manifest_doc(size=True)),
        dump(_manifest_doc(size="10")),
        dump(_manifest_doc(size=-1)),
        dump(_manifest_doc(ciphertext_size=10)),
        dump(_manifest_doc(item=None)),
        dump(_manifest_doc(case=["c"])),
        dump(_manifest_doc(sha256="A" * 64)),
        dump(_manifest_doc(ciphertext_sha256="b" * 63)),
        dump(_manifest_doc(created_at="2026-11-25T07:35:00+00:00")),
        dump(_manifest_doc(created_at="2026-11-25T07:35:00.1234567891Z")),
        dump(_manifest_doc(signing_key="AAAA")),
        dump(_manifest_doc(signing_key="not base64")),
        dump(_manifest_doc(signing_key=base64.b64encode(bytes(32)).decode().rstrip("="))),
        dump(_manifest_doc(signing_key="A" * 42 + "B=")),  # non-canonical bits: Python accepts
        *(
            dump(_manifest_doc(file_name=name))
            for name in (
                "",
                ".",
                "..",
                "a/b",
                "a\\b",
                "a\x00b",
                "a\x7fb",
                "a\u0085b",
                "a\u202eb",
                "a\u2069b",
                "a\u2028b",
                "a\u2029b",
                "e\u0301",
                "\u00e9",
                "\U0001f3a5" * 63,
                "\U0001f3a5" * 64,
                "x" * 255,
                "x" * 256,
                "\ufeffa",
            )
        ),
        # A file's folder inside the folder sent (issue 16): relative, each part a safe name.
        *(
            dump(_manifest_doc(folder=folder))
            for folder in (
                "statements",
                "statements/2026/JD",
                "../x",
                "a/../b",
                "a/./b",
                "/abs",
                "a/",
                "a//b",
                "",
                "a\\b",
                "a/\x00",
                "a/\u202e",
                "e\u0301/x",
                "/".join(["d"] * 32),
                "/".join(["d"] * 33),
                "x" * 255 + "/" + "y" * 255 + "/" + "z" * 255 + "/" + "w" * 255,
                "x" * 255 + "/" + "y" * 255 + "/" + "z" * 255 + "/" + "w" * 255 + "/v",
                None,
                5,
                ["a"],
            )
        ),
        b'{"v":1,"size":1.5}',
        b'{"v":1,"size":1E+2}',
        b'{"v":NaN}',
        b'{"v":Infinity}',
        b'{"v":-Infinity}',
        b'{"v":1,"v":1}',
        b'{"a":{"b":1,"b":2},"c":1.5}',
        b'{"a":1.5,"a":1}',
        b"[" * 3000 + b"]" * 3000,
        b"[" * 64 + b"]" * 64,  # as deep as JSON may go: not a manifest, for another reason
        b"[" * 65 + b"]" * 65,
        b'{"v":1,"x":' + b"[" * 70 + b"]" * 70 + b"}",
        b'{"v":1,"x":' + b"[" * 70 + b"]" * 70 + b',"y":1.5}',  # the float is met first
        b'{"v":1,"x":' + b"[" * 70 + b'"\\udc00"' + b"]" * 70 + b"}",  # depth before text
        dump(_manifest_doc(file_name="\ud800.mp4")),
        dump(_manifest_doc(file_name="\ud83c\udfa5.mp4")),  # a pair: one character
        dump({**_manifest_doc(), "\udfff": 1}),
        b'{"v":' + b"9" * 4301 + b"}",
        b'{"v":-' + b"9" * 4300 + b"}",
        b"{'v':1}",
        b'{"v":1,}',
        b'{"v":01}',
        b'{"v":"\x01"}',
        b'{"v":"\\x"}',
        b'{"v":"\\ud800"}',
        b" \t\r\n{}\n ",
        b"[]",
        b'"x"',
        b"",
        b"\xef\xbb\xbf{}",
        b"{\xff}",
        b'{"v":1}x',
    ]
    envelope = {"manifest": "AA==", "signature": "AA=="}
    signed = [
        dump(envelope),
        dump({"manifest": "AA=="}),
        dump({**envelope, "x": 1}),
        dump({**envelope, "manifest": 5}),
        dump({**envelope, "manifest": None}),
        dump({**envelope, "manifest": ["AA=="]}),
        dump({**envelope, "manifest": "A"}),
        dump({**envelope, "manifest": "QR=="}),
        dump({**envelope, "manifest": "\u00e9A=="}),
        dump({**envelope, "signature": "AA=\n="}),
        b'{"manifest":"AA==","signature":1.0}',
        b'{"manifest":"AA==","manifest":"AA==","signature":"AA=="}',
    ]
    when = datetime(2026, 11, 25, 7, 40, 49, 123456, tzinfo=UTC)
    good = Entry(
        type="item:sealed",
        time=when,
        actor="u",
        item="i",
        data={"n": 1, "s": "\u00e9", "l": [True, None]},
    ).to_bytes()
    text = good.decode()
    entries = [
        good,
        text.replace('"v":1', '"v":2').encode(),
        text.replace('"v":1', '"v":true').encode(),
        text.replace('"v":1', '"v":"1"').encode(),
        text.replace('"v":1', '"v":null').encode(),
        text.replace('"actor"', '"actors"').encode(),
        text.replace(":", " : ", 1).encode(),
        text.replace("07:40:49.123456Z", "07:40:49Z").encode(),
        text.replace("2026-11-25", "2026-02-29").encode(),
        text.replace("2026-11-25", "2024-02-29").encode(),
        text.replace("2026-11-25", "0999-11-25").encode(),
        text.replace("2026-11-25", "0000-11-25").encode(),
        text.replace("07:40:49", "24:40:49").encode(),
        text.replace("07:40:49", "07:40:60").encode(),
        text.replace('"item:sealed"', '"Item:sealed"').encode(),
        text.replace('"item:sealed"', '"item:sealed\\n"').encode(),
        text.replace('"item:sealed"', '"item"').encode(),
        text.replace('"prev":null', '"prev":{"index":1,"leaf":"00"}').encode(),
        text.replace('"prev":null', f'"prev":{{"index":-1,"leaf":"{"0" * 64}"}}').encode(),
        text.replace('"prev":null', f'"prev":{{"index":true,"leaf":"{"0" * 64}"}}').encode(),
        text.replace('"prev":null', f'"prev":{{"index":3,"leaf":"{"0" * 64}"}}').encode(),
        text.replace('"prev":null', f'"prev":{{"index":3,"leaf":"{"0" * 64}\\n"}}').encode(),
        text.replace('"prev":null', '"prev":[]').encode(),
        text.replace('"item":"i"', '"item":null')
        .replace('"prev":null', f'"prev":{{"index":3,"leaf":"{"0" * 64}"}}')
        .encode(),
        text.replace('"data":{', '"data":{"big":9223372036854775808,').encode(),
        text.replace('"data":{', '"data":{"big":-9223372036854775808,').encode(),
        text.replace('"data":{', '"data":{"f":1.5,').encode(),
        text.replace('"data":{', '"data":{"n":1,').encode(),
        text.replace('"data":{', '"data":{"a":"\\ud800",').encode(),
        text.replace('"data":{', '"data":{"a":' + "[" * 62 + "]" * 62 + ",").encode(),
        text.replace('"data":{', '"data":{"a":' + "[" * 63 + "]" * 63 + ",").encode(),
        text.replace("07:40:49.123456Z", "07:40:49.123456Z\\n").encode(),
        text.replace('"actor":"u"', '"actor":""').encode(),
        text.replace('"actor":"u"', f'"actor":"{"u" * 129}"').encode(),
        text.replace('"actor":"u"', '"actor":5').encode(),
        text.replace('"case":null', '"case":""').encode(),
        text.replace('"transfer":null', '"transfer":7').encode(),
        text.replace('"data":{', '"data":[').replace("]}", "]]", 1).encode(),
        text.replace("\\u00e9", "\\u00E9").encode(),
        text.replace("\\u00e9", "\u00e9").encode("utf-8"),
        b"[]",
        b"",
    ]
    keyfile_ok = UserKeys.generate()
    key_text = (
        f"custody-keys/v1\nage: {keyfile_ok.identity.to_string()}\n"
        f"ed25519: {base64.b64encode(keyfile_ok.signing_key.seed).decode()}\n"
    )
    keyfiles = [
        key_text.encode(),
        key_text.replace("v1", "v2").encode(),
        (key_text + "x\n").encode(),
        key_text[:-1].encode(),
        key_text.replace("age: ", "age:").encode(),
        key_text.replace("AGE-SECRET-KEY-1", "age-secret-key-1").encode(),
        key_text.replace("ed25519: ", "ed25519: AAAA").encode(),
        key_text.replace("\ned25519: ", "\ned25519: =").encode(),
        key_text.replace("age: ", "age:  ").encode(),
        (key_text.replace("\n", "\r\n")).encode(),
        key_text.replace("custody", "c\u00fcstody").encode(),
    ]
    spellings = [
        "".join(chars).encode() for n in range(7) for chars in itertools.product("AQB=", repeat=n)
    ]
    return (
        [("manifest", m) for m in manifests]
        + [("signed", s) for s in signed]
        + [("entry", e) for e in entries]
        + [("keys", k) for k in keyfiles]
        + [("b64", b) for b in spellings]
    )


def test_hostile_inputs_get_the_same_verdict_and_message_from_both(
    interop: Path, tmp_path: Path
) -> None:
    inputs = _hostile_inputs()
    path = tmp_path / "hostile.json"
    path.write_text(
        json.dumps([{"kind": k, "data": base64.b64encode(d).decode()} for k, d in inputs])
    )
    theirs = _node(interop, "verdicts", str(path))
    assert len(theirs) == len(inputs)
    differ = []
    for (kind, data), node_verdict in zip(inputs, theirs, strict=True):
        python_says, node_says = _verdict(kind, data), node_verdict
        if python_says.startswith("InvalidInput: entry is not canonical JSON:"):
            # Python quotes its json module's own error text; node has its own words.
            python_says = python_says.split(":", 2)[0] + ": entry is not canonical JSON"
            node_says = ":".join(node_says.split(":", 2)[:2])
        if python_says != node_says:
            differ.append(f"{kind} {data[:80]!r}\n  python: {python_says}\n  node:   {node_says}")
    assert not differ, f"{len(differ)} of {len(inputs)} verdicts differ:\n" + "\n".join(differ)
    assert sum(1 for k, _ in inputs if k == "b64") == 5461
