/** The signed manifest: Python's canonical bytes, and the refusals of Python's parser. */

import assert from "node:assert/strict";
import { test } from "node:test";

import { ascii, concat, toBase64, utf8 } from "../src/bytes.js";
import { BadSignature, InvalidInput } from "../src/errors.js";
import { JsonRefused, canonicalJson, parseJson } from "../src/json.js";
import { Manifest, type ManifestFields, SIGNATURE_CONTEXT, SignedManifest, safeFileName, safeFolder } from "../src/manifest.js";
import { SigningKey, VerifyKey } from "../src/signing.js";

const key = new SigningKey(new Uint8Array(32).fill(7));
const FIELDS: ManifestFields = {
  item: "ca8a96d9-0000-4000-8000-000000000001",
  transfer: "abc98e46-0000-4000-8000-000000000002",
  case: "47XX1234567",
  file_name: "Interview \u00e9t\u00e9 \ud83c\udfa5.mp4",
  size: 268435456,
  sha256: "a".repeat(64),
  ciphertext_size: 268501176,
  ciphertext_sha256: "b".repeat(64),
  item_recipient: "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
  sender: "71680909-547d-4901-9746-2616ff5e353c",
  signing_key: key.publicKey.toBase64(),
  created_at: "2026-11-25T07:35:00Z",
};

test("manifest bytes are Python's canonical JSON, and the signature covers prefix and bytes", () => {
  const manifest = new Manifest(FIELDS);
  const expected =
    '{"case":"47XX1234567","ciphertext_sha256":"' + "b".repeat(64) + '","ciphertext_size":268501176,' +
    '"created_at":"2026-11-25T07:35:00Z","file_name":"Interview \\u00e9t\\u00e9 \\ud83c\\udfa5.mp4",' +
    '"item":"ca8a96d9-0000-4000-8000-000000000001",' +
    '"item_recipient":"age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",' +
    '"sender":"71680909-547d-4901-9746-2616ff5e353c","sha256":"' + "a".repeat(64) + '",' +
    `"signing_key":"${FIELDS.signing_key}","size":268435456,` +
    '"transfer":"abc98e46-0000-4000-8000-000000000002","v":1}';
  assert.equal(new TextDecoder().decode(manifest.toBytes()), expected);
  const signed = SignedManifest.sign(manifest, key);
  key.publicKey.verify(signed.signature, concat(SIGNATURE_CONTEXT, manifest.toBytes()));
  const envelope = new TextDecoder().decode(signed.toBytes());
  assert.equal(envelope, `{"manifest":"${toBase64(manifest.toBytes())}","signature":"${toBase64(signed.signature)}"}`);
  const back = SignedManifest.fromBytes(signed.toBytes()).verify(key.publicKey);
  assert.deepEqual({ ...back }, { ...manifest });
});

test("a signature by another key, or a manifest naming another key, is BadSignature", () => {
  const signed = SignedManifest.sign(new Manifest(FIELDS), key);
  const other = new SigningKey(new Uint8Array(32).fill(8));
  assert.throws(() => signed.verify(other.publicKey), /signature does not verify/);
  const flipped = signed.manifestBytes.slice();
  flipped[10] = (flipped[10] ?? 0) ^ 1;
  assert.throws(() => new SignedManifest(flipped, signed.signature).verify(key.publicKey), BadSignature);
  const naming = new Manifest({ ...FIELDS, signing_key: other.publicKey.toBase64() });
  const bytes = naming.toBytes();
  const forged = new SignedManifest(bytes, key.sign(concat(SIGNATURE_CONTEXT, bytes)));
  assert.throws(() => forged.verify(key.publicKey), /names a different signing key/);
  assert.throws(() => SignedManifest.sign(naming, key), /different signing key than the one signing it/);
});

/** Python's message for each manifest document (checked against Python by the interop test). */
const REFUSED: [string, string][] = [
  ['{"v":1,"size":1.5}', "the manifest contains a number that is not an integer: 1.5"],
  ['{"v":1,"size":1e3}', "the manifest contains a number that is not an integer: 1e3"],
  ['{"v":NaN}', "the manifest contains a number that is not an integer: NaN"],
  ['{"v":-Infinity}', "the manifest contains a number that is not an integer: -Infinity"],
  ['{"v":1,"v":1}', "the manifest repeats a key"],
  ['{"a":{"b":1,"b":2},"c":1.5}', "the manifest repeats a key"],
  ['{"a":1.5,"a":1}', "the manifest contains a number that is not an integer: 1.5"],
  ["[".repeat(5000) + "]".repeat(5000), "the manifest is nested too deeply to be a manifest"],
  ['{"v":' + "9".repeat(4301) + "}", "the manifest is not JSON"],
  ["{'v':1}", "the manifest is not JSON"],
  ['{"v":1,}', "the manifest is not JSON"],
  ['{"v":01}', "the manifest is not JSON"],
  ['{"v":"\u0001"}', "the manifest is not JSON"],
  ["[]", "the manifest is not a JSON object"],
  ['"x"', "the manifest is not a JSON object"],
  ['{"v":2}', "unknown manifest version"],
  ['{"v":"1"}', "unknown manifest version"],
  ["{}", "unknown manifest version"],
];

test("hostile manifest documents are refused with Python's messages", () => {
  for (const [text, message] of REFUSED) {
    assert.throws(() => Manifest.fromBytes(utf8(text)), (e: unknown) => {
      assert.ok(e instanceof InvalidInput);
      assert.equal(e.message, message, text.slice(0, 60));
      return true;
    });
  }
  assert.throws(() => Manifest.fromBytes(Uint8Array.of(0x7b, 0xff, 0x7d)), /is not JSON/);
});

function document(changes: Record<string, unknown>, drop: string[] = []): Uint8Array {
  const base: Record<string, unknown> = { v: 1, ...FIELDS, ...changes };
  for (const d of drop) delete base[d];
  return utf8(JSON.stringify(base));
}

test("fields: missing, extra, wrong types, impossible values are refused as Python refuses them", () => {
  const names = "['case', 'ciphertext_sha256', 'ciphertext_size', 'created_at', 'file_name', 'item', 'item_recipient', 'sender', 'sha256', 'signing_key', 'size', 'transfer']";
  const cases: [Uint8Array, string][] = [
    [document({}, ["sender"]), `manifest fields differ from ${names} (and 'folder')`],
    [document({ extra: 1 }), `manifest fields differ from ${names} (and 'folder')`],
    [document({ folder: null }), "manifest field 'folder' must be str"],
    [document({ folder: 5 }), "manifest field 'folder' must be str"],
    [document({ folder: "../x" }), "'..' is not a usable file name"],
    [document({ folder: "/abs" }), "the folder path is absolute or has an empty part"],
    [document({ folder: "a//b" }), "the folder path is absolute or has an empty part"],
    [document({ folder: "a/./b" }), "'.' is not a usable file name"],
    [document({ folder: "a\\b" }), "a file name may not contain '/' or '\\'"],
    [document({ folder: "e\u0301/x" }), "the manifest's folder is not in Unicode NFC form"],
    [document({ size: true }), "manifest field 'size' must be int"],
    [document({ size: "1" }), "manifest field 'size' must be int"],
    [document({ item: 5 }), "manifest field 'item' must be str"],
    [document({ case: null }), "manifest field 'case' must be str"],
    [document({ sha256: "A".repeat(64) }), "manifest field 'sha256' is not a lower-case hex SHA-256"],
    [document({ size: -1 }), "manifest sizes are impossible"],
    [document({ ciphertext_size: FIELDS.size }), "manifest sizes are impossible"],
    [document({ created_at: "2026-11-25 07:35:00Z" }), "manifest time must be RFC 3339 UTC, like 2026-11-25T07:35:00Z"],
    [document({ signing_key: "AAAA" }), "an Ed25519 public key is 32 bytes"],
    [document({ signing_key: "not base64!" }), "not a base64 Ed25519 public key"],
    [document({ file_name: "a/b" }), "a file name may not contain '/' or '\\'"],
    [document({ file_name: ".." }), "'..' is not a usable file name"],
    [document({ file_name: "e\u0301.txt" }), "the manifest's file name is not in Unicode NFC form"],
  ];
  for (const [bytes, message] of cases) {
    assert.throws(() => Manifest.fromBytes(bytes), (e: unknown) => e instanceof InvalidInput && e.message === message, message);
  }
  // true is not 1, here as in Python's Manifest.from_bytes.
  assert.throws(() => Manifest.fromBytes(document({ v: true })), (e: unknown) => e instanceof InvalidInput && e.message === "unknown manifest version");
});

test("safe file names follow crypto/manifest.py's safe_file_name", () => {
  assert.equal(safeFileName("interview.mp4"), "interview.mp4");
  assert.equal(safeFileName("e\u0301"), "\u00e9");
  for (const [name, message] of [
    ["", "'' is not a usable file name"],
    [".", "'.' is not a usable file name"],
    ["a\\b", "a file name may not contain '/' or '\\'"],
    ["a\u0000b", "the file name contains a control character (U+0000)"],
    ["a\u0085b", "the file name contains a control character (U+0085)"],
    ["a\u202eb", "the file name contains a control character (U+202E)"],
    ["a\u2066b", "the file name contains a control character (U+2066)"],
    ["a\u2028b", "the file name contains a control character (U+2028)"],
    ["\u00e9".repeat(128), "the file name is longer than 255 bytes"],
  ] as const) {
    assert.throws(() => safeFileName(name), (e: unknown) => e instanceof InvalidInput && e.message === message, message);
  }
  assert.equal(safeFileName("a".repeat(255)).length, 255);
});

test("the envelope refuses what Python's SignedManifest.from_bytes refuses", () => {
  for (const [text, message] of [
    ['{"manifest":"AA=="}', "a signed manifest has exactly 'manifest' and 'signature'"],
    ['{"manifest":"AA==","signature":"AA==","x":1}', "a signed manifest has exactly 'manifest' and 'signature'"],
    ['{"manifest":5,"signature":"AA=="}', "the signed manifest's fields are not base64"],
    ['{"manifest":"A","signature":"AA=="}', "the signed manifest's fields are not base64"],
    ['{"manifest":"\u00e9A==","signature":"AA=="}', "the signed manifest's fields are not base64"],
    ['{"manifest":"AA==","signature":1.0}', "the signed manifest contains a number that is not an integer: 1.0"],
  ] as const) {
    assert.throws(() => SignedManifest.fromBytes(utf8(text)), (e: unknown) => e instanceof InvalidInput && e.message === message, text);
  }
  // Python's validate=True base64 ignores unused trailing bits: so does this parser.
  assert.deepEqual([...SignedManifest.fromBytes(ascii('{"manifest":"QR==","signature":"QQ=="}')).manifestBytes], [65]);
});

test("canonical JSON writes what Python's json.dumps writes", () => {
  assert.equal(
    canonicalJson({ b: [1, -2, 9007199254740993n, true, null], a: "\u007f\"\\\n\t\u0001\u00ff\u2028", "\ud83d\ude00": 0, "\uffff": 1 }),
    '{"a":"\\u007f\\"\\\\\\n\\t\\u0001\\u00ff\\u2028","b":[1,-2,9007199254740993,true,null],"\\uffff":1,"\\ud83d\\ude00":0}',
  );
  const parsed = parseJson(' {"a" : [ 1 , -0 , 123456789012345678901234567890 ] } ');
  assert.equal(canonicalJson(parsed), '{"a":[1,0,123456789012345678901234567890]}');
  assert.equal(parseJson('"\\ud83d\\ude00"'), "\ud83d\ude00");
  assert.throws(() => parseJson('"\\ud800"'), (e: unknown) => e instanceof JsonRefused && e.kind === "text");
  assert.throws(() => parseJson('{"\\udc00":1}'), (e: unknown) => e instanceof JsonRefused && e.kind === "text");
  assert.ok(Array.isArray(parseJson("[".repeat(64) + "]".repeat(64))));
  assert.throws(() => parseJson("[".repeat(65) + "]".repeat(65)), (e: unknown) => e instanceof JsonRefused && e.kind === "depth");
  assert.throws(() => VerifyKey.fromBase64("="), InvalidInput);
});

test("a file's folder inside the folder sent: signed only when there is one, and safe", () => {
  const lone = new Manifest(FIELDS);
  assert.equal(lone.folder, undefined);
  assert.ok(!new TextDecoder().decode(lone.toBytes()).includes("folder"));
  assert.equal(lone.relativePath, FIELDS.file_name);
  const nested = new Manifest({ ...FIELDS, folder: "statements/2026" });
  assert.ok(new TextDecoder().decode(nested.toBytes()).includes('"folder":"statements/2026"'));
  assert.equal(nested.relativePath, `statements/2026/${FIELDS.file_name}`);
  const back = SignedManifest.fromBytes(SignedManifest.sign(nested, key).toBytes()).verify(key.publicKey);
  assert.equal(back.folder, "statements/2026");
  assert.equal(safeFolder("a/b/c"), "a/b/c");
  assert.throws(() => safeFolder(Array(33).fill("d").join("/")), /more than 32 folders deep/);
  assert.throws(() => safeFolder("x".repeat(1025)), /longer than 1024 bytes/);
});
