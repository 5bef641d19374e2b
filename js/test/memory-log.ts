/**
 * A small in-memory log (RFC 9162 §2.1 by its recursive definitions) and a log key, for the
 * trust tests: Merkle trees, inclusion and consistency proofs, signed checkpoints, entries.
 */

import { ascii, concat, toBase64, utf8 } from "../src/bytes.js";
import { checkpointText } from "../src/checkpoint.js";
import { nodeHash } from "../src/merkle.js";
import { Verifier, keyId } from "../src/note.js";
import { SigningKey } from "../src/signing.js";

export const split = (n: number) => 2 ** Math.floor(Math.log2(n - 1));
export function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 1) return leaves[0] as Uint8Array;
  const k = split(leaves.length);
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}
export function path_(m: number, leaves: Uint8Array[]): Uint8Array[] {
  if (leaves.length <= 1) return [];
  const k = split(leaves.length);
  return m < k
    ? [...path_(m, leaves.slice(0, k)), mth(leaves.slice(k))]
    : [...path_(m - k, leaves.slice(k)), mth(leaves.slice(0, k))];
}
export function subproof(m: number, leaves: Uint8Array[], whole: boolean): Uint8Array[] {
  const n = leaves.length;
  if (m === n) return whole ? [] : [mth(leaves)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), whole), mth(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), mth(leaves.slice(0, k))];
}

export const logKey = new SigningKey(new Uint8Array(32).fill(3));
export const ORIGIN = "custody.example/log";
export const verifier = new Verifier(ORIGIN, logKey.publicKey);

export function signNote(text: string, key = logKey, name = ORIGIN): Uint8Array {
  const sig = concat(
    Uint8Array.of(...[24, 16, 8, 0].map((s) => (keyId(name, key.publicKey.raw) / 2 ** s) & 0xff)),
    key.sign(utf8(text)),
  );
  return utf8(`${text}\n\u2014 ${name} ${toBase64(sig)}\n`);
}

export function checkpointNote(leaves: Uint8Array[], extra: string[] = []): Uint8Array {
  return signNote(checkpointText({ origin: ORIGIN, size: leaves.length, rootHash: mth(leaves), extensions: extra }));
}

export function entryBytes(type: string, actor: string, data: Record<string, string>): Uint8Array {
  const sorted = Object.keys(data).sort().map((k) => `"${k}":"${data[k]}"`).join(",");
  return ascii(
    `{"actor":"${actor}","case":null,"data":{${sorted}},"item":null,"prev":null,` +
      `"time":"2026-11-25T07:40:49.123456Z","transfer":null,"type":"${type}","v":1}`,
  );
}
