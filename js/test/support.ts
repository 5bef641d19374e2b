/** Test support: where the shared vectors are, and small helpers. */

import { readFileSync } from "node:fs";
import path from "node:path";
import { inflateSync } from "node:zlib";

/** `$CUSTODY_VECTORS_DIR`, set by test/run.mjs to ../shared/vectors beside the repository. */
export function vectorsDir(): string {
  const dir = process.env["CUSTODY_VECTORS_DIR"];
  if (!dir) throw new Error("CUSTODY_VECTORS_DIR is not set: run the tests with `npm test`");
  return dir;
}

export interface AgeVector {
  name: string;
  expect: string;
  body: Uint8Array;
  payload: string | null;
  identities: string[];
  passphrases: string[];
  armored: boolean;
}

/** One file of the age CCTV suite, read as tests/vectors/test_age_cctv.py reads it. */
export function loadAgeVector(file: string): AgeVector {
  const raw = readFileSync(file);
  const split = raw.indexOf("\n\n");
  const head = raw.subarray(0, split).toString("utf8");
  let body: Uint8Array = raw.subarray(split + 2);
  const fields = new Map<string, string[]>();
  for (const line of head.split("\n")) {
    const at = line.indexOf(": ");
    const key = at < 0 ? line : line.slice(0, at);
    const value = at < 0 ? "" : line.slice(at + 2);
    fields.set(key, [...(fields.get(key) ?? []), value]);
  }
  if (fields.get("compressed")?.[0] === "zlib") body = inflateSync(body);
  return {
    name: path.basename(file),
    expect: fields.get("expect")?.[0] ?? "",
    body: new Uint8Array(body),
    payload: fields.get("payload")?.[0] ?? null,
    identities: fields.get("identity") ?? [],
    passphrases: fields.get("passphrase") ?? [],
    armored: fields.get("armored")?.[0] === "yes",
  };
}

/** Deterministic pseudo-random bytes (xorshift), so failures reproduce. */
export function pseudoRandom(size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** A stream of `data` in pieces of the given sizes, cycled. */
export function streamOf(data: Uint8Array, pieces: readonly number[] = [65536]): ReadableStream<Uint8Array> {
  let offset = 0;
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= data.length) {
        controller.close();
        return;
      }
      const size = pieces[i++ % pieces.length] ?? 65536;
      controller.enqueue(data.slice(offset, offset + size));
      offset += size;
    },
  });
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.length;
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
