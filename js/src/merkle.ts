/**
 * RFC 9162 §2.1 Merkle tree hashing and proof verification (`ledger/merkle.py`).
 *
 * Indexes and sizes are taken as `number` or `bigint` and computed in `bigint`, so trees
 * beyond 2^32 (and the test vectors' 2^64 − 1) are handled exactly.
 */

import { sha256 } from "@noble/hashes/sha2.js";

import { concat, equal } from "./bytes.js";
import { InvalidProof } from "./errors.js";

export const HASH_SIZE = 32;
/** RFC 9162 §2.1.1: MTH({}) = HASH(). */
export const EMPTY_ROOT = sha256(new Uint8Array(0));

/** RFC 9162 §2.1.1: MTH({d}) = HASH(0x00 || d). */
export function leafHash(entry: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(0), entry));
}

/** RFC 9162 §2.1.1: HASH(0x01 || MTH(left) || MTH(right)). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concat(Uint8Array.of(1), left, right));
}

type Size = number | bigint;

function big(value: Size, what: string): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new InvalidProof(`${what} ${value} is not an integer`);
  }
  return BigInt(value);
}

function checkHashes(first: [string, Uint8Array], second: [string, Uint8Array], proof: readonly Uint8Array[]): void {
  const named: [string, Uint8Array][] = [first, second, ...proof.map((p, i): [string, Uint8Array] => [`proof hash ${i}`, p])];
  for (const [what, value] of named) {
    if (value.length !== HASH_SIZE) {
      throw new InvalidProof(`${what} is ${value.length} bytes, not a ${HASH_SIZE}-byte hash`);
    }
  }
}

/** Throw {@link InvalidProof} unless `proof` puts `leaf` at `index` under `rootHash`. */
export function verifyInclusion(
  leaf: Uint8Array,
  index: Size,
  size: Size,
  proof: readonly Uint8Array[],
  rootHash: Uint8Array,
): void {
  checkHashes(["the leaf hash", leaf], ["the root hash", rootHash], proof);
  // RFC 9162 §2.1.3.2 steps 1-6.
  const i = big(index, "leaf index");
  const n = big(size, "tree size");
  if (!(0n <= i && i < n)) throw new InvalidProof(`leaf index ${i} is outside a tree of size ${n}`);
  let fn = i;
  let sn = n - 1n;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0n) throw new InvalidProof(`inclusion proof has too many hashes (${proof.length})`);
    if (fn & 1n || fn === sn) {
      r = nodeHash(p, r);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = nodeHash(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new InvalidProof(`inclusion proof has too few hashes (${proof.length})`);
  if (!equal(r, rootHash)) throw new InvalidProof(`inclusion proof of leaf ${i} does not lead to the root hash`);
}

/** Throw {@link InvalidProof} unless the tree `oldRoot` is a prefix of the tree `newRoot`. */
export function verifyConsistency(
  oldSize: Size,
  newSize: Size,
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
  proof: readonly Uint8Array[],
): void {
  // RFC 9162 §2.1.4.2 steps 1-8.
  const m = big(oldSize, "old size");
  const n = big(newSize, "new size");
  if (!(0n <= m && m <= n)) throw new InvalidProof(`old size ${m} is larger than new size ${n}`);
  if (m === 0n) {
    // as transparency-dev/merkle: every tree extends the empty one
    throw new InvalidProof("a consistency proof from the empty tree proves nothing; skip it");
  }
  if (m === n) {
    if (proof.length) throw new InvalidProof("equal sizes need an empty consistency proof");
    if (!equal(oldRoot, newRoot)) throw new InvalidProof(`two different root hashes for the same size ${m}`);
    return;
  }
  checkHashes(["the old root hash", oldRoot], ["the new root hash", newRoot], proof);
  if (!proof.length) throw new InvalidProof("consistency proof is empty");
  const path = [...proof];
  if ((m & (m - 1n)) === 0n) path.unshift(oldRoot);
  let fn = m - 1n;
  let sn = n - 1n;
  while (fn & 1n) {
    fn >>= 1n;
    sn >>= 1n;
  }
  let fr = path[0] as Uint8Array;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0n) throw new InvalidProof(`consistency proof has too many hashes (${proof.length})`);
    if (fn & 1n || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new InvalidProof(`consistency proof has too few hashes (${proof.length})`);
  if (!equal(fr, oldRoot)) throw new InvalidProof(`consistency proof does not lead to the old root (size ${m})`);
  if (!equal(sr, newRoot)) throw new InvalidProof(`consistency proof does not lead to the new root (size ${n})`);
}
