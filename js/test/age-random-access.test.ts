/**
 * Random access: any chunk or byte range of a SealPlan's ciphertext, made alone, is exactly
 * those bytes of the whole-stream encryption; any range decrypts back alone; the reference
 * TypeScript age (age-encryption) decrypts what this library encrypts.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { Decrypter } from "age-encryption";

import {
  AgeReader,
  CHUNK,
  DecryptionFailed,
  Identity,
  SEALED_CHUNK,
  SealPlan,
  decrypt,
  decryptStream,
  encrypt,
  prefixLength,
} from "../src/age.js";
import { equal } from "../src/bytes.js";
import { InvalidInput, LocalError } from "../src/errors.js";
import { pseudoRandom, readAll, streamOf } from "./support.js";

const SIZES = [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * 1024 * 1024 + 12345];
const identity = Identity.generate();

async function wholeStream(plan: SealPlan, plaintext: Uint8Array): Promise<Uint8Array> {
  return readAll(plan.encryptStream(streamOf(plaintext, [1000, 70000, 13]), plaintext.length));
}

/** A few byte ranges worth checking in a file of `total` bytes: boundaries and odd spans. */
function ranges(total: number, prefix: number): [number, number][] {
  const points = new Set([0, 1, prefix - 1, prefix, prefix + 1, total - 1, total]);
  for (let k = 1; prefix + k * SEALED_CHUNK < total && k < 4; k++) {
    for (const d of [-1, 0, 1]) points.add(prefix + k * SEALED_CHUNK + d);
  }
  points.add(Math.floor(total / 3));
  points.add(Math.floor((2 * total) / 3));
  const sorted = [...points].filter((p) => p >= 0 && p <= total).sort((a, b) => a - b);
  const out: [number, number][] = [];
  for (const a of sorted) for (const b of sorted) if (a <= b) out.push([a, b]);
  return out;
}

for (const size of SIZES) {
  test(`random access encrypts and decrypts every chunk of a ${size}-byte file alone`, async () => {
    const plaintext = pseudoRandom(size, size + 7);
    const plan = SealPlan.create([identity.recipient]);
    const whole = await wholeStream(plan, plaintext);
    const total = plan.ciphertextSize(size);
    assert.equal(whole.length, total);

    // Every chunk alone, through encryptChunk and through the range API.
    const chunks = Math.max(1, Math.ceil(size / CHUNK));
    for (let i = 0; i < chunks; i++) {
      const piece = plaintext.subarray(i * CHUNK, Math.min((i + 1) * CHUNK, size));
      const start = plan.prefixSize + i * SEALED_CHUNK;
      const expected = whole.subarray(start, start + piece.length + 16);
      assert.ok(equal(plan.encryptChunk(i, piece, size), expected), `chunk ${i} differs`);
      const span = plan.ciphertextRange(start, start + expected.length, size);
      assert.deepEqual([span.firstChunk, span.lastChunk], [i, i]);
      const made = plan.encryptRange(span, plaintext.subarray(span.plaintextStart, span.plaintextEnd), size);
      assert.ok(equal(made, expected), `range of chunk ${i} differs`);
    }

    // Byte ranges across the header, chunk boundaries and the end.
    for (const [a, b] of ranges(total, plan.prefixSize)) {
      const span = plan.ciphertextRange(a, b, size);
      const made = plan.encryptRange(span, plaintext.subarray(span.plaintextStart, span.plaintextEnd), size);
      assert.ok(equal(made, whole.subarray(a, b)), `ciphertext ${a}..${b} differs`);
    }

    // Resuming the stream at any of those offsets gives the rest of the same file.
    for (const start of [0, 1, plan.prefixSize, plan.prefixSize + 17, total - 1, total].filter((s) => s <= total)) {
      const rest = await readAll(plan.encryptStream(streamOf(plaintext, [4093]), size, { start }));
      assert.ok(equal(rest, whole.subarray(start)), `resume at ${start} differs`);
    }

    // The plan survives its secret bytes and makes the same file.
    const again = SealPlan.fromSecretBytes(plan.toSecretBytes());
    assert.ok(equal(await wholeStream(again, plaintext), whole));

    // Decrypt: the header alone opens the reader; any range decrypts alone.
    const prefix = prefixLength(whole);
    assert.equal(prefix, plan.prefixSize);
    const reader = await AgeReader.open(whole.subarray(0, prefix ?? 0), [identity]);
    assert.equal(reader.plaintextSize(total), size);
    for (const [a, b] of ranges(size, 0)) {
      const span = reader.plaintextRange(a, b, total);
      const got = reader.decryptRange(span, whole.subarray(span.ciphertextStart, span.ciphertextEnd), total);
      assert.ok(equal(got, plaintext.subarray(a, b)), `plaintext ${a}..${b} differs`);
    }
    assert.ok(equal(await readAll(await decryptStream(streamOf(whole, [5000]), [identity])), plaintext));

    // The reference implementation agrees.
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity.toString());
    assert.ok(equal(await decrypter.decrypt(whole), plaintext), "age-encryption disagrees");
  });
}

test("a flipped byte fails its chunk only; a wrong total size fails at the last chunk", async () => {
  const size = 3 * CHUNK + 5;
  const plaintext = pseudoRandom(size, 3);
  const plan = SealPlan.create([identity.recipient]);
  const whole = await wholeStream(plan, plaintext);
  const total = whole.length;
  const bad = whole.slice();
  const at = plan.prefixSize + SEALED_CHUNK + 100; // inside chunk 1
  bad[at] = (bad[at] ?? 0) ^ 1;
  const reader = await AgeReader.open(bad.subarray(0, plan.prefixSize), [identity]);
  const sealed = (i: number) =>
    bad.subarray(plan.prefixSize + i * SEALED_CHUNK, Math.min(plan.prefixSize + (i + 1) * SEALED_CHUNK, total));
  assert.ok(equal(reader.decryptChunk(0, sealed(0), total), plaintext.subarray(0, CHUNK)));
  assert.throws(() => reader.decryptChunk(1, sealed(1), total), DecryptionFailed);
  assert.ok(equal(reader.decryptChunk(3, sealed(3), total), plaintext.subarray(3 * CHUNK)));
  // The stream path releases chunk 0, then fails.
  let released = 0;
  await assert.rejects(
    readAll(await decryptStream(streamOf(bad), [identity], { onPlaintext: (p) => (released += p.length) })),
    DecryptionFailed,
  );
  assert.equal(released, CHUNK);
  // A server that lies about the size: the chunk it makes "last" does not authenticate as last.
  const good = await AgeReader.open(whole.subarray(0, plan.prefixSize), [identity]);
  const shorter = plan.prefixSize + 2 * SEALED_CHUNK;
  assert.throws(() => good.decryptChunk(1, whole.subarray(plan.prefixSize + SEALED_CHUNK, shorter), shorter), DecryptionFailed);
  assert.throws(() => good.plaintextSize(plan.prefixSize + SEALED_CHUNK + 16), DecryptionFailed); // empty last chunk
  assert.throws(() => good.plaintextSize(plan.prefixSize + 15), DecryptionFailed);
  // Wrong key: the header does not open.
  await assert.rejects(AgeReader.open(whole.subarray(0, plan.prefixSize), [Identity.generate()]), DecryptionFailed);
});

test("a source that is not the announced size is refused while encrypting", async () => {
  const plan = SealPlan.create([identity.recipient]);
  const data = pseudoRandom(CHUNK + 10);
  await assert.rejects(readAll(plan.encryptStream(streamOf(data), data.length + 1)), LocalError);
  await assert.rejects(readAll(plan.encryptStream(streamOf(data), data.length - 1)), LocalError);
  await assert.rejects(readAll(plan.encryptStream(streamOf(data), CHUNK)), LocalError);
  assert.throws(() => plan.ciphertextRange(0, plan.ciphertextSize(10) + 1, 10), InvalidInput);
  assert.throws(() => plan.encryptChunk(0, data.subarray(0, 5), 10), InvalidInput);
});

test("seal plans: damaged secret bytes are refused; small files round-trip", async () => {
  const plan = SealPlan.create([identity.recipient]);
  const secret = plan.toSecretBytes();
  assert.equal(new TextDecoder().decode(secret.subarray(0, 20)), "custody-sealplan/v1\n");
  assert.throws(() => SealPlan.fromSecretBytes(secret.subarray(0, 52)), InvalidInput);
  const flipped = secret.slice();
  flipped[25] = (flipped[25] ?? 0) ^ 1; // the file key: the MAC no longer matches
  assert.throws(() => SealPlan.fromSecretBytes(flipped), /does not match its file key/);
  const header = secret.slice();
  header[60] = 0x7f; // inside the header
  assert.throws(() => SealPlan.fromSecretBytes(header), InvalidInput);
  assert.throws(() => SealPlan.create([]), /at least one recipient/);
  const small = encrypt(new TextEncoder().encode("hello"), [identity.recipient]);
  assert.equal(new TextDecoder().decode(await decrypt(small, [identity])), "hello");
});

test("a source that fails (a network error) is reported as itself, not as a decryption failure", async () => {
  const plan = SealPlan.create([identity.recipient]);
  const whole = await wholeStream(plan, pseudoRandom(3 * CHUNK));
  const failing = (after: number) => {
    let sent = false;
    return new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent) return controller.error(new TypeError("network error"));
        controller.enqueue(whole.slice(0, after));
        sent = true;
      },
    });
  };
  await assert.rejects(decryptStream(failing(10), [identity]), TypeError); // inside the header
  const stream = await decryptStream(failing(plan.prefixSize + 100), [identity]);
  await assert.rejects(readAll(stream), TypeError); // inside the payload
});
