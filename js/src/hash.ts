/**
 * Incremental SHA-256 for plaintext and ciphertext digests while streaming (noble's
 * SHA-256: WebCrypto's digest is one-shot and cannot hash a 60 GB file as it passes).
 */

import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

import { toHex } from "./bytes.js";

export class Sha256 {
  readonly #hash = nobleSha256.create();
  #size = 0;

  update(data: Uint8Array): this {
    this.#hash.update(data);
    this.#size += data.length;
    return this;
  }

  /** Bytes hashed so far. */
  get size(): number {
    return this.#size;
  }

  digest(): Uint8Array {
    return this.#hash.clone().digest();
  }

  hexdigest(): string {
    return toHex(this.digest());
  }
}

export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

export function sha256Hex(data: Uint8Array): string {
  return toHex(nobleSha256(data));
}

/** A pass-through stream that hashes every byte on its way: read `hash` once it has ended. */
export function hashingStream(hash: Sha256): TransformStream<Uint8Array, Uint8Array> {
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      hash.update(chunk);
      controller.enqueue(chunk);
    },
  });
}
