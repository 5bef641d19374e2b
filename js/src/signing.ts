/** Ed25519 signing keys: manifests, signed notes and checkpoints all use these (`crypto/signing.py`). */

import { ed25519 } from "@noble/curves/ed25519.js";

import { equal, fromBase64Lenient, randomBytes, toBase64 } from "./bytes.js";
import { BadSignature, InvalidInput } from "./errors.js";

/**
 * RFC 8032 verification, strict (no ZIP-215 leniency): non-canonical encodings of the key
 * or of R, and S ≥ L, are refused, as OpenSSL (behind Python's `cryptography`) refuses them.
 */
export function ed25519Verify(publicKey: Uint8Array, signature: Uint8Array, message: Uint8Array): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** An Ed25519 public key. */
export class VerifyKey {
  readonly raw: Uint8Array;

  constructor(raw: Uint8Array) {
    if (raw.length !== 32) throw new InvalidInput("an Ed25519 public key is 32 bytes");
    this.raw = raw.slice();
  }

  /** Base64 as Python's `VerifyKey.from_b64` reads it (`b64decode(validate=True)`). */
  static fromBase64(text: string): VerifyKey {
    let raw: Uint8Array;
    try {
      raw = fromBase64Lenient(text);
    } catch {
      throw new InvalidInput("not a base64 Ed25519 public key");
    }
    return new VerifyKey(raw);
  }

  toBase64(): string {
    return toBase64(this.raw);
  }

  /** Throw {@link BadSignature} unless `signature` signs `message`. */
  verify(signature: Uint8Array, message: Uint8Array): void {
    if (!ed25519Verify(this.raw, signature, message)) throw new BadSignature("signature does not verify");
  }

  isValid(signature: Uint8Array, message: Uint8Array): boolean {
    return ed25519Verify(this.raw, signature, message);
  }

  equals(other: VerifyKey): boolean {
    return equal(this.raw, other.raw);
  }
}

/** An Ed25519 private key, held as its 32-byte seed. */
export class SigningKey {
  readonly #seed: Uint8Array;

  constructor(seed: Uint8Array) {
    if (seed.length !== 32) throw new InvalidInput("an Ed25519 seed is 32 bytes");
    this.#seed = seed.slice();
  }

  static generate(): SigningKey {
    return new SigningKey(randomBytes(32));
  }

  /** The seed. Secret: only for sealing it into a key file. */
  get seed(): Uint8Array {
    return this.#seed.slice();
  }

  get publicKey(): VerifyKey {
    return new VerifyKey(ed25519.getPublicKey(this.#seed));
  }

  /** RFC 8032 Ed25519 (deterministic) signature of `message`. */
  sign(message: Uint8Array): Uint8Array {
    return ed25519.sign(message, this.#seed);
  }

  /** Never print key material. */
  toJSON(): string {
    return `SigningKey(public=${this.publicKey.toBase64()})`;
  }
}
