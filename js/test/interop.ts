/**
 * The node half of tests/integration/test_js_interop.py (compiled by `node test/run.mjs
 * --outdir DIR`, run by pytest):
 *
 *   node interop.mjs open DIR     open and verify what Python made in DIR; print JSON
 *   node interop.mjs make DIR     make keys, an age file (by random access), a signed
 *                                 manifest and a wrap in DIR for Python to open
 *   node interop.mjs verdicts IN  for each hostile input in IN (JSON), this library's verdict
 *
 * Every output is one JSON document on stdout; pytest compares it with what Python found.
 */

import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

import {
  AgeReader,
  CHUNK,

  Identity,
  Recipient,
  SealPlan,
  decryptStream,
  prefixLength,
} from "../src/age.js";
import { fromBase64Lenient, fromBase64Strict, toBase64, toHex } from "../src/bytes.js";
import { CustodyError } from "../src/errors.js";
import { Sha256, sha256Hex } from "../src/hash.js";
import { newItemKey, unwrap, wrap } from "../src/items.js";
import { UserKeys } from "../src/keys.js";
import { parseEntry } from "../src/entry.js";
import { Manifest, SignedManifest } from "../src/manifest.js";
import { VerifyKey } from "../src/signing.js";
import {
  acceptCheckpoint,
  checkKeyLogged,
  consistencyNeeded,
  parseLogKey,
  verifyProvenEntry,
} from "../src/trust.js";
import { openCheckpoint } from "../src/checkpoint.js";

type Verdict = string;

async function verdict(work: () => unknown): Promise<Verdict> {
  try {
    await work();
    return "ok";
  } catch (error) {
    if (error instanceof CustodyError) return `${error.name}: ${error.message}`;
    return `BUG ${String(error)}`;
  }
}

const read = (dir: string, name: string) => new Uint8Array(readFileSync(path.join(dir, name)));
const text = (dir: string, name: string) => readFileSync(path.join(dir, name), "utf8");

function flip(data: Uint8Array, at: number): Uint8Array {
  const out = data.slice();
  const i = at < 0 ? out.length + at : at;
  out[i] = (out[i] ?? 0) ^ 1;
  return out;
}

async function decryptAll(data: Uint8Array, identity: Identity): Promise<Uint8Array> {
  const hash = await Sha256.create();
  const stream = await decryptStream(new Blob([data as Uint8Array<ArrayBuffer>]).stream(), [identity]);
  const reader = stream.getReader();
  const parts: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    parts.push(value);
  }
  const out = new Uint8Array(hash.size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Open and verify everything Python made. */
async function openPython(dir: string): Promise<Record<string, unknown>> {
  const info = JSON.parse(text(dir, "info.json")) as Record<string, string | number>;
  const out: Record<string, unknown> = {};

  // The key file custody keys init writes.
  const keys = await UserKeys.unseal(read(dir, "keys.age"), String(info["passphrase"]));
  out["keys"] = { age_recipient: keys.ageRecipient, signing_public: keys.signingPublic };

  // The wrap: the reader (the user above) opens the item key.
  const itemKey = await unwrap(read(dir, "wrap.age"), keys.identity);
  out["item_key_recipient"] = itemKey.recipient.toString();

  // The content, whole (stream) and by random access; then the seal plan regenerates it.
  const content = read(dir, "content.age");
  const plaintext = await decryptAll(content, itemKey);
  out["content_sha256"] = sha256Hex(plaintext);
  const reader = await AgeReader.open(content.subarray(0, prefixLength(content) ?? 0), [itemKey]);
  const size = reader.plaintextSize(content.length);
  const mid = Math.floor(size / 2);
  const span = reader.plaintextRange(mid - 100, mid + CHUNK, content.length);
  const piece = reader.decryptRange(span, content.subarray(span.ciphertextStart, span.ciphertextEnd), content.length);
  out["range_matches"] = toHex(piece) === toHex(plaintext.subarray(mid - 100, mid + CHUNK));
  const plan = SealPlan.fromSecretBytes(read(dir, "plan.bin"));
  const all = plan.ciphertextRange(0, plan.ciphertextSize(size), size);
  out["plan_regenerates"] = toHex(plan.encryptRange(all, plaintext, size)) === toHex(content);
  const tail = plan.ciphertextRange(Number(info["resume_at"]), content.length, size);
  const resumed = plan.encryptRange(tail, plaintext.subarray(tail.plaintextStart, tail.plaintextEnd), size);
  out["plan_resumes"] = toHex(resumed) === toHex(content.subarray(Number(info["resume_at"])));

  // The signed manifest, checked against the signing key the sender registered.
  const signed = SignedManifest.fromBytes(read(dir, "manifest.signed"));
  const manifest = signed.verify(VerifyKey.fromBase64(keys.signingPublic));
  out["manifest"] = { ...manifest };
  out["manifest_hashes_match"] =
    manifest.sha256 === out["content_sha256"] && manifest.ciphertext_sha256 === sha256Hex(content);

  // The ledger: pinned key, two checkpoints, a consistency proof, an inclusion proof.
  const verifier = parseLogKey(text(dir, "log-key.txt"));
  const oldNote = read(dir, "checkpoint-old");
  const newNote = read(dir, "checkpoint-new");
  const first = acceptCheckpoint(verifier, null, oldNote);
  const newCp = openCheckpoint(newNote, verifier, verifier.name);
  const needed = consistencyNeeded(first.remember, newCp, newNote);
  const consistency = JSON.parse(text(dir, "consistency.json")) as { old: number; new: number; proof: string[] };
  const answer = { old: consistency.old, new: consistency.new, proof: consistency.proof.map(fromBase64Strict) };
  const accepted = acceptCheckpoint(verifier, first.remember, newNote, answer);
  const proven = JSON.parse(text(dir, "proven.json")) as { index: number; entry: string; proof: string[] };
  const provenEntry = {
    index: proven.index,
    entry: fromBase64Strict(proven.entry),
    proof: proven.proof.map(fromBase64Strict),
    checkpoint: null,
  };
  const entry = verifyProvenEntry(provenEntry, proven.index, accepted.checkpoint);
  checkKeyLogged(entry, proven.index, {
    userId: String(info["user_id"]),
    ageRecipient: keys.ageRecipient,
    signingKey: keys.signingPublic,
  });
  out["ledger"] = {
    old_size: first.checkpoint.size,
    new_size: accepted.checkpoint.size,
    needed,
    entry_type: entry.type,
    entry_actor: entry.actor,
    root: toBase64(accepted.checkpoint.rootHash),
  };

  // One flipped byte anywhere: refused.
  const flippedPlan = flip(read(dir, "plan.bin"), 30);
  out["refused"] = {
    keys: await verdict(() => UserKeys.unseal(flip(read(dir, "keys.age"), -3), String(info["passphrase"]))),
    wrap: await verdict(() => unwrap(flip(read(dir, "wrap.age"), -5), keys.identity)),
    content: await verdict(() => decryptAll(flip(content, content.length - 40), itemKey)),
    content_header: await verdict(() => decryptAll(flip(content, 40), itemKey)),
    plan: await verdict(() => SealPlan.fromSecretBytes(flippedPlan)),
    manifest: await verdict(() => {
      const bad = new SignedManifest(flip(signed.manifestBytes, 20), signed.signature);
      return bad.verify(VerifyKey.fromBase64(keys.signingPublic));
    }),
    signature: await verdict(() => new SignedManifest(signed.manifestBytes, flip(signed.signature, 3)).verify(VerifyKey.fromBase64(keys.signingPublic))),
    checkpoint: await verdict(() => acceptCheckpoint(verifier, null, flip(newNote, 5))),
    consistency: await verdict(() =>
      acceptCheckpoint(verifier, first.remember, newNote, { ...answer, proof: answer.proof.map((p, i) => (i === 0 ? flip(p, 0) : p)) }),
    ),
    inclusion: await verdict(() => verifyProvenEntry({ ...provenEntry, entry: flip(provenEntry.entry, 10) }, proven.index, accepted.checkpoint)),
  };
  return out;
}

/** Make keys, a content file (chunks encrypted out of order), a manifest and a wrap. */
async function makeForPython(dir: string): Promise<Record<string, unknown>> {
  const info = JSON.parse(text(dir, "request.json")) as { passphrase: string; reader: string; size: number };
  const keys = UserKeys.generate();
  writeFileSync(path.join(dir, "keys.age"), await keys.seal(info.passphrase)); // work factor 2^17
  const itemKey = newItemKey();
  writeFileSync(path.join(dir, "item.key"), itemKey.toString() + "\n");

  const size = info.size;
  const plaintext = new Uint8Array(size);
  for (let i = 0; i < size; i++) plaintext[i] = (i * 131 + (i >> 9)) & 0xff;
  const plan = SealPlan.create([itemKey.recipient]);
  const total = plan.ciphertextSize(size);
  const ciphertext = new Uint8Array(total);
  // As a resumed upload would: odd ranges, the last first, each made alone.
  const cuts = [0, 7, plan.prefixSize + 3, Math.floor(total / 3), Math.floor(total / 2) + 1, total - 20, total];
  for (let k = cuts.length - 2; k >= 0; k--) {
    const span = plan.ciphertextRange(cuts[k] ?? 0, cuts[k + 1] ?? 0, size);
    ciphertext.set(plan.encryptRange(span, plaintext.subarray(span.plaintextStart, span.plaintextEnd), size), span.start);
  }
  writeFileSync(path.join(dir, "content.age"), ciphertext);
  writeFileSync(path.join(dir, "content.bin"), plaintext);
  writeFileSync(path.join(dir, "plan.bin"), plan.toSecretBytes());

  const manifest = new Manifest({
    item: "0b0e0f10-1112-4314-9516-171819202122",
    transfer: "1a1b1c1d-1e1f-4021-a223-242526272829",
    case: "47XX1234567",
    file_name: "Interview \u2014 \u00e9t\u00e9 \ud83c\udfa5.mp4",
    size,
    sha256: sha256Hex(plaintext),
    ciphertext_size: total,
    ciphertext_sha256: sha256Hex(ciphertext),
    item_recipient: itemKey.recipient.toString(),
    sender: "71680909-547d-4901-9746-2616ff5e353c",
    signing_key: keys.signingPublic,
    created_at: "2026-11-25T07:35:00.123Z",
  });
  const signed = SignedManifest.sign(manifest, keys.signingKey);
  writeFileSync(path.join(dir, "manifest.signed"), signed.toBytes());
  writeFileSync(path.join(dir, "manifest.bytes"), manifest.toBytes());
  writeFileSync(path.join(dir, "wrap.age"), wrap(itemKey, Recipient.parse(info.reader)));
  return {
    age_recipient: keys.ageRecipient,
    signing_public: keys.signingPublic,
    item_key_recipient: itemKey.recipient.toString(),
    plaintext_sha256: sha256Hex(plaintext),
    ciphertext_size: total,
  };
}

interface HostileInput {
  kind: "manifest" | "signed" | "entry" | "b64" | "keys";
  data: string; // base64 of the bytes
}

/** This library's verdict on each hostile input: "ok", or the error's class and message. */
async function verdicts(file: string): Promise<Verdict[]> {
  const inputs = JSON.parse(readFileSync(file, "utf8")) as HostileInput[];
  const out: Verdict[] = [];
  for (const input of inputs) {
    const bytes = fromBase64Strict(input.data);
    switch (input.kind) {
      case "manifest":
        out.push(await verdict(() => Manifest.fromBytes(bytes)));
        break;
      case "signed":
        out.push(await verdict(() => SignedManifest.fromBytes(bytes)));
        break;
      case "entry":
        out.push(await verdict(() => parseEntry(bytes)));
        break;
      case "keys":
        out.push(await verdict(() => UserKeys.parse(bytes)));
        break;
      case "b64":
        try {
          out.push(toBase64(fromBase64Lenient(new TextDecoder().decode(bytes))));
        } catch {
          out.push("refused");
        }
        break;
    }
  }
  return out;
}

const [command, target] = process.argv.slice(2);
const result =
  command === "open" ? await openPython(target ?? "")
  : command === "make" ? await makeForPython(target ?? "")
  : command === "verdicts" ? await verdicts(target ?? "")
  : null;
if (result === null) {
  console.error("usage: interop.mjs open|make|verdicts PATH");
  process.exitCode = 2;
} else {
  process.stdout.write(JSON.stringify(result) + "\n");
}
