/**
 * age recipient types: X25519, scrypt, and (decryption only) mlkem768x25519.
 *
 * A port of `custody.crypto._recipients`. Each identity's `unwrap` looks at the header's
 * stanzas and returns the 16-byte file key, null if no stanza is for it, or throws
 * {@link Malformed} if a stanza of its type is broken (C2SP age, "Recipient stanzas").
 */

import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { x25519 } from "@noble/curves/ed25519.js";
import { expand, extract, hkdf } from "@noble/hashes/hkdf.js";
import { scryptAsync } from "@noble/hashes/scrypt.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { MLKEM768X25519 } from "@noble/post-quantum/hybrid.js";

import * as bech32 from "./bech32.js";
import { ascii, concat, constantTimeEqual, pyStrip, randomBytes, toBase64Raw, utf8 } from "./bytes.js";
import { InvalidInput } from "./errors.js";
import { Malformed, Stanza, b64RawDecode } from "./age-format.js";

export const FILE_KEY_SIZE = 16;
const ZERO_NONCE = new Uint8Array(12);
const X25519_LABEL = ascii("age-encryption.org/v1/X25519");
const SCRYPT_LABEL = ascii("age-encryption.org/v1/scrypt");
const HYBRID_LABEL = ascii("age-encryption.org/mlkem768x25519");
const HYBRID_ENC_SIZE = 1120; // ML-KEM-768 ciphertext (1088) || X25519 share (32)
const DECIMAL = /^[1-9][0-9]*$/;

/** Anything that can find its file key among a header's stanzas. */
export interface Unwrapper {
  unwrap(stanzas: readonly Stanza[]): Promise<Uint8Array | null>;
}

function openFileKey(key: Uint8Array, body: Uint8Array): Uint8Array | null {
  if (body.length !== FILE_KEY_SIZE + 16) {
    throw new Malformed("wrapped file key has the wrong size"); // checked before decrypting
  }
  try {
    return chacha20poly1305(key, ZERO_NONCE).decrypt(body);
  } catch {
    return null;
  }
}

/** X25519, refusing the all-zero (low-order) result; null if refused. */
function x25519Shared(secret: Uint8Array, publicKey: Uint8Array): Uint8Array | null {
  try {
    return x25519.getSharedSecret(secret, publicKey);
  } catch {
    return null;
  }
}

/** An age X25519 recipient (`age1...`): who a file can be encrypted to. */
export class Recipient {
  readonly raw: Uint8Array;

  constructor(publicKey: Uint8Array) {
    if (publicKey.length !== 32) throw new InvalidInput("an age X25519 recipient is 32 bytes");
    this.raw = publicKey.slice();
  }

  static parse(text: string): Recipient {
    const stripped = pyStrip(text);
    let hrp: string;
    let data: Uint8Array;
    try {
      [hrp, data] = bech32.decode(stripped);
    } catch (error) {
      const why = error instanceof Error ? error.message : String(error);
      throw new InvalidInput(`not an age recipient (expected 'age1...'): ${why}`);
    }
    if (hrp !== "age" || stripped !== stripped.toLowerCase() || data.length !== 32) {
      throw new InvalidInput("not an age X25519 recipient (expected 'age1...' of 32 bytes)");
    }
    return new Recipient(data);
  }

  toString(): string {
    return bech32.encode("age", this.raw);
  }

  /** An `X25519` stanza carrying `fileKey` (age spec, "X25519 recipient stanza"). */
  wrap(fileKey: Uint8Array): Stanza {
    const ephemeral = randomBytes(32);
    const share = x25519.getPublicKey(ephemeral);
    const shared = x25519.getSharedSecret(ephemeral, this.raw);
    const key = hkdf(sha256, shared, concat(share, this.raw), X25519_LABEL, 32);
    const body = chacha20poly1305(key, ZERO_NONCE).encrypt(fileKey);
    return new Stanza(["X25519", toBase64Raw(share)], body);
  }

  equals(other: Recipient): boolean {
    return constantTimeEqual(this.raw, other.raw);
  }
}

/** An age X25519 identity (`AGE-SECRET-KEY-1...`): who can decrypt. */
export class Identity implements Unwrapper {
  readonly #secret: Uint8Array;
  readonly #public: Uint8Array;

  constructor(secret: Uint8Array) {
    if (secret.length !== 32) throw new InvalidInput("an age X25519 identity is 32 bytes");
    this.#secret = secret.slice();
    this.#public = x25519.getPublicKey(this.#secret);
  }

  static generate(): Identity {
    return new Identity(randomBytes(32));
  }

  static parse(text: string): Identity {
    const stripped = pyStrip(text);
    let hrp: string;
    let data: Uint8Array;
    try {
      [hrp, data] = bech32.decode(stripped);
    } catch {
      throw new InvalidInput("not an age identity (expected 'AGE-SECRET-KEY-1...')");
    }
    if (hrp !== "age-secret-key-" || stripped !== stripped.toUpperCase() || data.length !== 32) {
      throw new InvalidInput("not an age X25519 identity (expected 'AGE-SECRET-KEY-1...')");
    }
    return new Identity(data);
  }

  /** The identity string. Secret: write it only where a secret belongs. */
  toString(): string {
    return bech32.encode("age-secret-key-", this.#secret, true);
  }

  get recipient(): Recipient {
    return new Recipient(this.#public);
  }

  unwrap(stanzas: readonly Stanza[]): Promise<Uint8Array | null> {
    return Promise.resolve(this.unwrapSync(stanzas));
  }

  unwrapSync(stanzas: readonly Stanza[]): Uint8Array | null {
    for (const stanza of stanzas) {
      if (stanza.type !== "X25519") continue;
      if (stanza.args.length !== 2) throw new Malformed("X25519 stanza takes one argument");
      const share = b64RawDecode(stanza.args[1] ?? "");
      if (share.length !== 32) throw new Malformed("X25519 share is not 32 bytes");
      const shared = x25519Shared(this.#secret, share);
      if (shared === null) throw new Malformed("low-order X25519 share");
      const key = hkdf(sha256, shared, concat(share, this.#public), X25519_LABEL, 32);
      const fileKey = openFileKey(key, stanza.body);
      if (fileKey !== null) return fileKey;
    }
    return null;
  }

  equals(other: Identity): boolean {
    return constantTimeEqual(this.#public, other.#public) && this.toString() === other.toString();
  }

  /** Never print key material. */
  toJSON(): string {
    return `Identity(recipient=${this.recipient.toString()})`;
  }
}

// HPKE (RFC 9180) base mode, KEM MLKEM768-X25519 (0x647a), HKDF-SHA256, ChaCha20Poly1305.
const HPKE_SUITE = concat(ascii("HPKE"), Uint8Array.of(0x64, 0x7a, 0x00, 0x01, 0x00, 0x03));
const HPKE_V1 = ascii("HPKE-v1");

function labeledExtract(salt: Uint8Array, label: string, ikm: Uint8Array): Uint8Array {
  return extract(sha256, concat(HPKE_V1, HPKE_SUITE, ascii(label), ikm), salt);
}

function labeledExpand(prk: Uint8Array, label: string, info: Uint8Array, length: number): Uint8Array {
  const size = Uint8Array.of(length >> 8, length & 0xff);
  return expand(sha256, prk, concat(size, HPKE_V1, HPKE_SUITE, ascii(label), info), length);
}

function hpkeOpen(sharedSecret: Uint8Array, info: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const empty = new Uint8Array(0);
  const context = concat(
    Uint8Array.of(0), // mode_base
    labeledExtract(empty, "psk_id_hash", empty),
    labeledExtract(empty, "info_hash", info),
  );
  const secret = labeledExtract(sharedSecret, "secret", empty);
  const key = labeledExpand(secret, "key", context, 32);
  const nonce = labeledExpand(secret, "base_nonce", context, 12);
  return chacha20poly1305(key, nonce).decrypt(ciphertext);
}

function isLowOrder(point: Uint8Array): boolean {
  return x25519Shared(new Uint8Array(32).fill(1), point) === null;
}

/** An age mlkem768x25519 identity (`AGE-SECRET-KEY-PQ-1...`), for decryption only. */
export class HybridIdentity implements Unwrapper {
  readonly #seed: Uint8Array;

  constructor(seed: Uint8Array) {
    if (seed.length !== 32) throw new InvalidInput("an age hybrid identity is a 32-byte seed");
    this.#seed = seed.slice();
  }

  static parse(text: string): HybridIdentity {
    const stripped = pyStrip(text);
    let hrp: string;
    let data: Uint8Array;
    try {
      [hrp, data] = bech32.decode(stripped);
    } catch {
      throw new InvalidInput("not an age hybrid identity ('AGE-SECRET-KEY-PQ-1...')");
    }
    if (hrp !== "age-secret-key-pq-" || stripped !== stripped.toUpperCase()) {
      throw new InvalidInput("not an age hybrid identity ('AGE-SECRET-KEY-PQ-1...')");
    }
    return new HybridIdentity(data);
  }

  unwrap(stanzas: readonly Stanza[]): Promise<Uint8Array | null> {
    for (const stanza of stanzas) {
      if (stanza.type !== "mlkem768x25519") continue;
      if (stanza.args.length !== 2) throw new Malformed("mlkem768x25519 stanza takes one argument");
      const enc = b64RawDecode(stanza.args[1] ?? "");
      if (enc.length !== HYBRID_ENC_SIZE || stanza.body.length !== FILE_KEY_SIZE + 16) {
        throw new Malformed("mlkem768x25519 stanza has the wrong sizes");
      }
      const point = enc.subarray(1088);
      if (point.every((b) => b === 0) || isLowOrder(point)) {
        throw new Malformed("low-order X25519 part of enc");
      }
      try {
        const shared = MLKEM768X25519.decapsulate(enc, this.#seed);
        return Promise.resolve(hpkeOpen(shared, HYBRID_LABEL, stanza.body));
      } catch {
        continue;
      }
    }
    return Promise.resolve(null);
  }
}

export interface ScryptOptions {
  /** Called with 0..1 while the key is derived (scrypt takes about a second). */
  onProgress?: (fraction: number) => void;
}

async function deriveScrypt(
  passphrase: Uint8Array,
  salt: Uint8Array,
  workFactor: number,
  options: ScryptOptions,
): Promise<Uint8Array> {
  const N = 2 ** workFactor;
  return scryptAsync(passphrase, concat(SCRYPT_LABEL, salt), {
    N,
    r: 8,
    p: 1,
    dkLen: 32,
    maxmem: 128 * 8 * (N + 2) + 1024,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}

/** An `scrypt` stanza (age spec, "scrypt recipient stanza"). */
export async function scryptStanza(
  fileKey: Uint8Array,
  passphrase: string,
  workFactor: number,
  options: ScryptOptions = {},
): Promise<Stanza> {
  const salt = randomBytes(16);
  const key = await deriveScrypt(utf8(passphrase), salt, workFactor, options);
  const body = chacha20poly1305(key, ZERO_NONCE).encrypt(fileKey);
  return new Stanza(["scrypt", toBase64Raw(salt), String(workFactor)], body);
}

/** A passphrase, tried against a header's `scrypt` stanza. */
export class ScryptIdentity implements Unwrapper {
  readonly #passphrase: Uint8Array;

  constructor(
    passphrase: string,
    readonly maxWorkFactor: number,
    readonly options: ScryptOptions = {},
  ) {
    this.#passphrase = utf8(passphrase);
  }

  async unwrap(stanzas: readonly Stanza[]): Promise<Uint8Array | null> {
    for (const stanza of stanzas) {
      if (stanza.type !== "scrypt") continue;
      if (stanza.args.length !== 3 || !DECIMAL.test(stanza.args[2] ?? "")) {
        throw new Malformed("bad scrypt stanza arguments");
      }
      const salt = b64RawDecode(stanza.args[1] ?? "");
      const workFactor = Number(stanza.args[2]);
      if (salt.length !== 16 || workFactor > this.maxWorkFactor) {
        throw new Malformed("bad scrypt salt or work factor too high");
      }
      if (stanza.body.length !== FILE_KEY_SIZE + 16) {
        throw new Malformed("wrapped file key has the wrong size");
      }
      const key = await deriveScrypt(this.#passphrase, salt, workFactor, this.options);
      const fileKey = openFileKey(key, stanza.body);
      if (fileKey !== null) return fileKey;
    }
    return null;
  }
}
