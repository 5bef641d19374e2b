/**
 * Throughput of this library's STREAM layer and SHA-256 in Node, on one in-memory buffer
 * (default 256 MiB): `npm run bench [-- MiB]`. One core; no disk, no network.
 */

import { AgeReader, Identity, SealPlan, decryptStream } from "../src/age.js";
import { Sha256 } from "../src/hash.js";

const mib = Number(process.argv[2] ?? 256);
const size = mib * 1024 * 1024;
const plaintext = new Uint8Array(size);
for (let i = 0; i < size; i += 4096) plaintext[i] = i & 0xff;
const identity = Identity.generate();
const plan = SealPlan.create([identity.recipient]);

function rate(label: string, bytes: number, started: number): void {
  const seconds = (performance.now() - started) / 1000;
  console.log(`${label.padEnd(36)} ${(bytes / 1e6 / seconds).toFixed(0).padStart(5)} MB/s  (${seconds.toFixed(2)} s)`);
}

function chunks(data: Uint8Array, piece = 1 << 20): ReadableStream<Uint8Array> {
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= data.length) return controller.close();
      controller.enqueue(data.subarray(offset, offset + piece));
      offset += piece;
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let total = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return total;
    total += value.length;
  }
}

console.log(`${mib} MiB, node ${process.version}`);
let t = performance.now();
const span = plan.ciphertextRange(0, plan.ciphertextSize(size), size);
const ciphertext = plan.encryptRange(span, plaintext, size);
rate("encrypt (SealPlan.encryptRange)", size, t);

t = performance.now();
await drain(plan.encryptStream(chunks(plaintext), size));
rate("encrypt (SealPlan.encryptStream)", size, t);

t = performance.now();
const reader = await AgeReader.open(ciphertext.subarray(0, plan.prefixSize), [identity]);
const all = reader.plaintextRange(0, size, ciphertext.length);
reader.decryptRange(all, ciphertext.subarray(all.ciphertextStart, all.ciphertextEnd), ciphertext.length);
rate("decrypt (AgeReader.decryptRange)", size, t);

t = performance.now();
await drain(await decryptStream(chunks(ciphertext), [identity]));
rate("decrypt (decryptStream)", size, t);

for (const engine of ["js", "wasm"] as const) {
  const hash = await Sha256.create(engine);
  t = performance.now();
  for (let i = 0; i < size; i += 1 << 20) hash.update(plaintext.subarray(i, i + (1 << 20)));
  hash.hexdigest();
  rate(`SHA-256 (${engine === "js" ? "noble" : "hash-wasm"}, incremental)`, size, t);
}
