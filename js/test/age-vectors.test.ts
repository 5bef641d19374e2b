/**
 * Every file of the age conformance suite (C2SP CCTV) gives its `expect` through this
 * library's decryption paths, as tests/vectors/test_age_cctv.py does for Python:
 * `decrypt` (binary or armored), `decryptStream` (what it released before a failure must
 * match the vector's payload hash), `decryptWithPassphrase`, and for binary files also the
 * random-access `AgeReader` over the whole payload.
 */

import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import {
  AgeReader,
  DecryptionFailed,
  HybridIdentity,
  Identity,
  type Unwrapper,
  decrypt,
  decryptStream,
  decryptWithPassphrase,
  prefixLength,
} from "../src/age.js";
import { Sha256, sha256Hex } from "../src/hash.js";
import { loadAgeVector, streamOf, vectorsDir } from "./support.js";

const DIR = path.join(vectorsDir(), "age-cctv");
const FILES = existsSync(DIR)
  ? readdirSync(DIR).filter((f) => !["README.md", "LICENSE"].includes(f)).sort()
  : [];

test("the age CCTV vectors are present", () => {
  assert.ok(existsSync(DIR), `age CCTV vectors not found: looked in ${DIR} (set CUSTODY_VECTORS_DIR)`);
  assert.ok(FILES.length > 100, `too few age vectors in ${DIR}`);
});

function identities(texts: readonly string[]): Unwrapper[] {
  return texts.map((t) => (t.startsWith("AGE-SECRET-KEY-PQ-") ? HybridIdentity.parse(t) : Identity.parse(t)));
}

async function outcome<T>(work: () => Promise<T>): Promise<T | DecryptionFailed> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof DecryptionFailed) return error;
    throw error; // anything else is a bug, not a refusal
  }
}

/** Decrypt with the stream path; what it released, and whether it ended in a failure. */
async function throughStream(body: Uint8Array, ids: Unwrapper[]) {
  const [seen, read] = await Promise.all([Sha256.create(), Sha256.create()]);
  let failed = false;
  try {
    const stream = await decryptStream(streamOf(body, [7, 4096, 65553, 100000]), ids, {
      onPlaintext: (p) => seen.update(p),
    });
    const reader = stream.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      read.update(value);
    }
  } catch (error) {
    if (!(error instanceof DecryptionFailed)) throw error;
    failed = true;
  }
  return { failed, seen: seen.hexdigest(), read: read.hexdigest(), size: read.size };
}

/** The whole payload through the random-access reader, chunk by chunk. */
async function throughReader(body: Uint8Array, ids: Unwrapper[]): Promise<Uint8Array> {
  const prefix = prefixLength(body);
  if (prefix === null) throw new DecryptionFailed("no header");
  const reader = await AgeReader.open(body.subarray(0, prefix), ids);
  const size = reader.plaintextSize(body.length);
  const span = reader.plaintextRange(0, size, body.length);
  return reader.decryptRange(span, body.subarray(span.ciphertextStart, span.ciphertextEnd), body.length);
}

for (const file of FILES) {
  test(`age vector ${file}`, async () => {
    const v = loadAgeVector(path.join(DIR, file));
    if (v.passphrases.length) {
      const digests: (string | null)[] = [];
      for (const p of v.passphrases) {
        const r = await outcome(() => decryptWithPassphrase(v.body, p));
        digests.push(r instanceof DecryptionFailed ? null : sha256Hex(r));
      }
      if (v.expect === "success") assert.ok(digests.includes(v.payload), `no passphrase opened ${file}`);
      else assert.deepEqual(digests, digests.map(() => null));
    }
    if (!v.identities.length) return;
    const ids = identities(v.identities);
    if (v.expect === "success" && v.passphrases.length) return;

    const whole = await outcome(() => decrypt(v.body, ids));
    if (v.expect === "success") {
      assert.ok(!(whole instanceof DecryptionFailed), `refused: ${(whole as DecryptionFailed).detail}`);
      assert.equal(sha256Hex(whole), v.payload);
    } else {
      assert.ok(whole instanceof DecryptionFailed, `${file} (${v.expect}) was accepted`);
    }
    if (v.armored) return; // the stream and random-access paths read binary age files only

    const streamed = await throughStream(v.body, ids);
    assert.equal(streamed.failed, v.expect !== "success");
    assert.equal(streamed.seen, streamed.read, "released plaintext differs from what was read");
    if (v.payload !== null) assert.equal(streamed.read, v.payload, "released plaintext is not the vector's");

    const random = await outcome(() => throughReader(v.body, ids));
    if (v.expect === "success") {
      assert.ok(!(random instanceof DecryptionFailed), `random access refused: ${(random as DecryptionFailed).detail}`);
      assert.equal(sha256Hex(random), v.payload);
    } else {
      assert.ok(random instanceof DecryptionFailed, `${file} (${v.expect}) was accepted by random access`);
    }
  });
}
