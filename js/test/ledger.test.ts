/**
 * The ledger: transparency-dev's RFC 9162 vectors, Go's signed-note vector, checkpoints,
 * entries, and the client's trust rules (checkpoint memory, key transparency).
 */

import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { ascii, fromBase64Strict, toBase64, toHex, utf8 } from "../src/bytes.js";
import { checkpointText, openCheckpoint, parseCheckpoint } from "../src/checkpoint.js";
import { parseEntry } from "../src/entry.js";
import { IntegrityError, InvalidInput, InvalidProof, NoteError, SplitView } from "../src/errors.js";
import { isObject, parseJson } from "../src/json.js";
import { leafHash, verifyConsistency, verifyInclusion } from "../src/merkle.js";
import { Verifier, openNote } from "../src/note.js";
import { SigningKey } from "../src/signing.js";
import {
  acceptCheckpoint,
  checkKeyLogged,
  checkRecoveryKeyLogged,
  consistencyNeeded,
  expectedLogKey,
  rememberedFromJson,
  rememberedToJson,
  verifyProvenEntry,
} from "../src/trust.js";
import { ORIGIN, checkpointNote, entryBytes, mth, path_, signNote, subproof, verifier } from "./memory-log.js";
import { vectorsDir } from "./support.js";

const MERKLE = path.join(vectorsDir(), "merkle");

function jsonFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((f) => {
    const full = path.join(dir, f);
    return statSync(full).isDirectory() ? jsonFiles(full) : f.endsWith(".json") ? [full] : [];
  }).sort();
}

const b64 = (v: unknown) => fromBase64Strict(String(v));
const proofOf = (v: unknown) => (Array.isArray(v) ? v.map(b64) : []);
const int = (v: unknown) => (typeof v === "number" || typeof v === "bigint" ? v : -1);

for (const kind of ["inclusion", "consistency"] as const) {
  test(`every RFC 9162 ${kind} vector gives its expected result`, () => {
    const files = jsonFiles(path.join(MERKLE, kind));
    assert.ok(files.length > 50, `no ${kind} vectors under ${MERKLE} (set CUSTODY_VECTORS_DIR)`);
    for (const file of files) {
      // Our JSON parser keeps integers beyond 2^53 (the vectors use 2^64 - 1) exact.
      const v = parseJson(readFileSync(file, "utf8"));
      assert.ok(isObject(v));
      const check = () =>
        kind === "inclusion"
          ? verifyInclusion(b64(v["leafHash"]), int(v["leafIdx"]), int(v["treeSize"]), proofOf(v["proof"]), b64(v["root"]))
          : verifyConsistency(int(v["size1"]), int(v["size2"]), b64(v["root1"]), b64(v["root2"]), proofOf(v["proof"]));
      if (v["wantErr"] === true) assert.throws(check, InvalidProof, path.relative(MERKLE, file));
      else assert.doesNotThrow(check, path.relative(MERKLE, file));
    }
  });
}


test("Go's signed-note vector opens; mangled notes and keys are refused", () => {
  const file = path.join(vectorsDir(), "signed-note", "peterneumann.json");
  assert.ok(existsSync(file), `signed-note vector not found at ${file}`);
  const v = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  const goVerifier = Verifier.fromVkey(v["vkey"] ?? "");
  assert.deepEqual([goVerifier.name, goVerifier.keyId.toString(16)], ["PeterNeumann", "c74f20a3"]);
  assert.equal(goVerifier.vkey, v["vkey"]);
  const note = v["signed_note"] ?? "";
  const opened = openNote(utf8(note), [goVerifier]);
  assert.equal(opened.text, v["text"]);
  // The skey's seed signs the text to the same bytes (Ed25519 is deterministic).
  const seed = fromBase64Strict((v["skey_go_format"] ?? "").split("+").slice(4).join("+")).subarray(1);
  assert.equal(new TextDecoder().decode(signNote(v["text"] ?? "", new SigningKey(seed), "PeterNeumann")), note);
  for (const bad of [
    note.replace("cryptography", "cryptograph!"),
    note.replace("x08go", "x08gp"),
    note.slice(0, -1),
    note.replace("\n\n", "\n"),
    note.replace("PeterNeumann x08", "Someone x08"),
    note.replace("\u2014", "-"),
    note.replace("problem,", "problem,\t"),
  ]) {
    assert.throws(() => openNote(utf8(bad), [goVerifier]), IntegrityError);
  }
  const withWitness = openNote(utf8(note + "\u2014 Witness AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n"), [goVerifier]);
  assert.deepEqual(withWitness.unverified.map((s) => s.name), ["Witness"]);
  const [name, hash, key] = (v["vkey"] ?? "").split("+") as [string, string, string];
  assert.throws(() => Verifier.fromVkey(`${name}+${(parseInt(hash, 16) ^ 1).toString(16).padStart(8, "0")}+${key}`), /hash/);
  assert.throws(() => Verifier.fromVkey(`${name}+${hash}+${key.slice(0, -3)}!==`), /base64/);
  assert.throws(() => Verifier.fromVkey(`Peter+Neumann+${hash}+${key}`), /name/);
});

test("checkpoints parse strictly and open only under the pinned key and origin", () => {
  const leaves = [leafHash(ascii("a")), leafHash(ascii("b"))];
  const note = checkpointNote(leaves, ["ext"]);
  const cp = openCheckpoint(note, verifier, ORIGIN);
  assert.deepEqual([cp.size, toHex(cp.rootHash), cp.extensions], [2, toHex(mth(leaves)), ["ext"]]);
  assert.throws(() => openCheckpoint(note, verifier, "other"), /checkpoint is for log 'custody.example\/log', not 'other'/);
  assert.throws(() => openCheckpoint(note, new Verifier(ORIGIN, new SigningKey(new Uint8Array(32)).publicKey), ORIGIN), NoteError);
  for (const [text, message] of [
    ["o\n01\nAAAA\n", "checkpoint size '01' is not a canonical decimal"],
    ["o\n1\n", "a checkpoint has an origin, a size and a root hash line"],
    ["o\n1\nAAAA", "a checkpoint ends with a newline"],
    ["o\n1\nAAAA\n", "a checkpoint root hash is 32 bytes"],
    ["o\n1\nAA=A\n", "checkpoint root hash is not base64"],
    [`o\n1\n${toBase64(new Uint8Array(32))}\n\n`, "a checkpoint extension is one non-empty line"],
  ] as const) {
    assert.throws(() => parseCheckpoint(text), (e: unknown) => e instanceof InvalidInput && e.message === message, text);
  }
  const malformed = signNote(`${ORIGIN}\n-1\n${toBase64(new Uint8Array(32))}\n`);
  assert.throws(() => openCheckpoint(malformed, verifier, ORIGIN), /signed checkpoint is malformed: checkpoint size '-1'/);
});

test("entries decode only in canonical form", () => {
  const good = entryBytes("key:registered", "u1", { age_recipient: "age1x", signing_key: "k" });
  assert.equal(parseEntry(good).type, "key:registered");
  const text = new TextDecoder().decode(good);
  for (const [bad, message] of [
    [text.replace('"v":1', '"v":2'), "entry version 2 is not supported (expected 1)"],
    [text.replace('"v":1', '"v":true'), "entry version True is not supported (expected 1)"],
    [text.replace('"actor"', '"actors"'), /^entry keys are/],
    [text.replace(":", " : "), "entry is not in canonical form"],
    [text.replace("07:40:49.123456Z", "07:40:49Z"), "entry time is YYYY-MM-DDTHH:MM:SS.ffffffZ"],
    [text.replace("2026-11-25", "2026-02-30"), "entry time '2026-02-30T07:40:49.123456Z' is not a date"],
    [text.replace('"type":"key:registered"', '"type":"Key:registered"'), "entry type 'Key:registered' is not a tag like 'item:sealed'"],
    [text.replace('"prev":null', '"prev":{"index":1,"leaf":"00"}'), "prev.leaf is 64 lowercase hex digits"],
    [text.replace('"prev":null', `"prev":{"index":1,"leaf":"${"0".repeat(64)}"}`), "an entry without an item has no prev"],
    [text.replace('"data":{', '"data":{"n":9223372036854775808,'), "data.n: integer outside the signed 64-bit range"],
    [text.replace('"data":{', '"data":{"f":1.5,'), /^entry is not canonical JSON/],
    [text.replace('"actor":"u1"', '"actor":""'), "entry actor is a user id or 'system'"],
    [text.replace('"case":null', '"case":""'), "case is null or a non-empty id of at most 128 characters"],
  ] as const) {
    assert.throws(() => parseEntry(ascii(bad)), (e: unknown) => {
      assert.ok(e instanceof InvalidInput, String(e));
      if (typeof message === "string") assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    });
  }
  assert.throws(() => parseEntry(utf8(text.replace('"u1"', '"\u00fc1"'))), /not canonical JSON/);
});

test("the client accepts a checkpoint only if it extends the one it remembers", () => {
  const leaves = Array.from({ length: 11 }, (_, i) => leafHash(ascii(`entry ${i}`)));
  const first = acceptCheckpoint(verifier, null, checkpointNote(leaves.slice(0, 5)));
  assert.equal(first.remember.size, 5);
  const remembered = rememberedFromJson(rememberedToJson(first.remember));
  assert.equal(toHex(remembered.rootHash), toHex(first.remember.rootHash));
  // Same tree: kept; a bigger one: needs a consistency proof from 5.
  assert.equal(acceptCheckpoint(verifier, remembered, checkpointNote(leaves.slice(0, 5))).remember, remembered);
  const note11 = checkpointNote(leaves);
  const cp11 = openCheckpoint(note11, verifier, ORIGIN);
  assert.deepEqual(consistencyNeeded(remembered, cp11, note11), { old: 5, new: 11 });
  const proof = subproof(5, leaves, true);
  const next = acceptCheckpoint(verifier, remembered, note11, { old: 5, new: 11, proof });
  assert.equal(next.remember.size, 11);
  // Refusals: no proof, a proof for other sizes, a forked tree, a rollback, another root.
  assert.throws(() => acceptCheckpoint(verifier, remembered, note11), SplitView);
  assert.throws(() => acceptCheckpoint(verifier, remembered, note11, { old: 4, new: 11, proof }), /malformed/);
  const forked = [...leaves.slice(0, 4), leafHash(ascii("rewritten")), ...leaves.slice(5)];
  const forkNote = checkpointNote(forked);
  assert.throws(
    () => acceptCheckpoint(verifier, remembered, forkNote, { old: 5, new: 11, proof: subproof(5, forked, true) }),
    (e: unknown) => e instanceof SplitView && /does not extend the tree of 5/.test(e.message) && e.shown === forkNote,
  );
  // An older tree: taken, not remembered, only with a proof that it is a prefix of ours.
  const note7 = checkpointNote(leaves.slice(0, 7));
  assert.deepEqual(consistencyNeeded(next.remember, openCheckpoint(note7, verifier, ORIGIN), note7), { old: 7, new: 11 });
  const older = acceptCheckpoint(verifier, next.remember, note7, { old: 7, new: 11, proof: subproof(7, leaves, true) });
  assert.equal(older.checkpoint.size, 7);
  assert.equal(older.remember, next.remember);
  assert.throws(() => acceptCheckpoint(verifier, next.remember, note7), /a rollback/);
  assert.throws(
    () => acceptCheckpoint(verifier, next.remember, note7, { old: 7, new: 11, proof: subproof(7, forked, true) }),
    /a rollback/,
  );
  assert.throws(() => acceptCheckpoint(verifier, next.remember, checkpointNote(forked)), /two different trees of size 11/);
  // A checkpoint signed by another key is never accepted.
  const stranger = new SigningKey(new Uint8Array(32).fill(9));
  assert.throws(() => acceptCheckpoint(verifier, null, signNote(checkpointText({ origin: ORIGIN, size: 1, rootHash: leaves[0] as Uint8Array, extensions: [] }), stranger)), NoteError);
});

test("a key counts only if a proven key:registered (or org:recovery_key) entry names it", () => {
  const entries = [
    entryBytes("user:created", "system", { user: "u1" }),
    entryBytes("key:registered", "u1", { age_recipient: "age1good", signing_key: "S1" }),
    entryBytes("org:recovery_key", "system", { org: "o1", recovery_recipient: "age1rec" }),
  ];
  const leaves = entries.map(leafHash);
  const { checkpoint } = acceptCheckpoint(verifier, null, checkpointNote(leaves));
  const proven = (i: number) => ({ index: i, entry: entries[i] as Uint8Array, proof: path_(i, leaves), checkpoint: null });
  const key = verifyProvenEntry(proven(1), 1, checkpoint);
  checkKeyLogged(key, 1, { userId: "u1", ageRecipient: "age1good", signingKey: "S1" });
  assert.throws(() => checkKeyLogged(key, 1, { userId: "u1", ageRecipient: "age1swapped" }), /encryption key differ/);
  assert.throws(() => checkKeyLogged(key, 1, { userId: "u2" }), /owner differ/);
  const recovery = verifyProvenEntry(proven(2), 2, checkpoint);
  checkRecoveryKeyLogged(recovery, 2, { orgId: "o1", recipient: "age1rec" });
  assert.throws(() => checkRecoveryKeyLogged(key, 1, { orgId: "o1", recipient: "age1good" }), /entry type, organisation, recovery key differ/);
  // An entry the proof does not put in the tree, or the wrong index, is refused.
  assert.throws(() => verifyProvenEntry({ ...proven(1), entry: entryBytes("key:registered", "u1", { age_recipient: "age1evil", signing_key: "S1" }) }, 1, checkpoint), InvalidProof);
  assert.throws(() => verifyProvenEntry(proven(1), 2, checkpoint), /malformed/);
  // Pinning: the person's key, never a different one without an explicit replace.
  assert.equal(expectedLogKey(null, verifier.vkey).vkey, verifier.vkey);
  const other = new Verifier(ORIGIN, new SigningKey(new Uint8Array(32).fill(4)).publicKey);
  assert.throws(() => expectedLogKey(verifier.vkey, other.vkey), /differs from the one pinned/);
  assert.equal(expectedLogKey(verifier.vkey, other.vkey, true).vkey, other.vkey);
});
