/**
 * age's STREAM payload layer (C2SP age, "Payload"), one 64 KiB chunk at a time.
 *
 * The payload is a 16-byte nonce, then the plaintext in 64 KiB chunks, each sealed with
 * ChaCha20-Poly1305 under HKDF-SHA-256(file key, salt = nonce, "payload") and the nonce
 * `counter (11 bytes, big-endian) || last flag (1 byte)`. The last chunk may be full or
 * short, but only an empty payload has an empty chunk. Every chunk is sealed and opened
 * on its own, which is what makes resumable uploads and seekable playback possible.
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

import { ascii } from "./bytes.js";

export const CHUNK = 64 * 1024;
export const TAG = 16;
export const SEALED_CHUNK = CHUNK + TAG;
export const NONCE_SIZE = 16;

const PAYLOAD_LABEL = ascii("payload");

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hkdf(sha256, fileKey, nonce, PAYLOAD_LABEL, 32);
}

/** The 12-byte ChaCha20-Poly1305 nonce of chunk `counter`. */
export function chunkNonce(counter: number, last: boolean): Uint8Array {
  if (!Number.isSafeInteger(counter) || counter < 0) throw new RangeError("bad chunk counter");
  const nonce = new Uint8Array(12);
  let rest = counter;
  for (let i = 10; i >= 0 && rest > 0; i--) {
    nonce[i] = rest % 256;
    rest = Math.floor(rest / 256);
  }
  nonce[11] = last ? 1 : 0;
  return nonce;
}

/** Chunks a payload of this size is cut into: an empty payload still has one. */
export function chunkCount(plaintextSize: number): number {
  return Math.max(1, Math.ceil(plaintextSize / CHUNK));
}

/** Bytes of STREAM ciphertext (without the 16-byte nonce) for this plaintext size. */
export function sealedSize(plaintextSize: number): number {
  return plaintextSize + chunkCount(plaintextSize) * TAG;
}

/**
 * The plaintext size of a STREAM of `size` sealed bytes (without the nonce), or null if no
 * well-formed payload has that size (a last chunk shorter than a tag, or an empty last
 * chunk after others).
 */
export function openedSize(size: number): number | null {
  if (!Number.isSafeInteger(size) || size < TAG) return null;
  const chunks = Math.ceil(size / SEALED_CHUNK);
  const last = size - (chunks - 1) * SEALED_CHUNK;
  if (last < TAG || (last === TAG && chunks > 1)) return null;
  return size - chunks * TAG;
}

/** Seal one chunk (`plaintext` at most 64 KiB) into `out` (its length + 16), or a new array. */
export function sealChunk(
  key: Uint8Array,
  counter: number,
  last: boolean,
  plaintext: Uint8Array,
  out?: Uint8Array,
): Uint8Array {
  const target = out ?? new Uint8Array(plaintext.length + TAG);
  return chacha20poly1305(key, chunkNonce(counter, last)).encrypt(plaintext, target);
}

/** Open one sealed chunk, or null if it does not authenticate under this counter and flag. */
export function openChunk(
  key: Uint8Array,
  counter: number,
  last: boolean,
  sealed: Uint8Array,
  out?: Uint8Array,
): Uint8Array | null {
  if (sealed.length < TAG) return null;
  const target = out ?? new Uint8Array(sealed.length - TAG);
  try {
    return chacha20poly1305(key, chunkNonce(counter, last)).decrypt(sealed, target);
  } catch {
    return null;
  }
}
