/**
 * Incremental SHA-256 for plaintext and ciphertext digests while streaming: WebCrypto's
 * digest is one-shot and cannot hash a 60 GB file as it passes.
 *
 * The streaming hash is hash-wasm's SHA-256 (WebAssembly: about ten times noble's
 * JavaScript, which was most of a browser send's time). Compiling WebAssembly needs
 * `'wasm-unsafe-eval'` in the script's CSP, which only the workers' policy grants (it
 * allows no JavaScript eval); where WebAssembly cannot be compiled, the same class falls
 * back to noble's SHA-256, slower but the same digests. One-shot hashes of small things
 * (manifests, identifiers) stay with noble: synchronous, and no faster to set up.
 */

import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { type IHasher, createSHA256 } from "hash-wasm";

import { toHex } from "./bytes.js";

/** The part of a hasher this class uses, whichever engine is behind it. */
interface Engine {
  update(data: Uint8Array): void;
  /** the digest so far, without ending the hash */
  digest(): Uint8Array;
}

/** Which engine streaming hashes use here: "wasm", or "js" where WebAssembly is refused. */
export type Sha256Engine = "wasm" | "js";

let wasmWorks: Promise<boolean> | null = null;

function wasmEngine(hasher: IHasher): Engine {
  return {
    update: (data) => {
      hasher.update(data);
    },
    digest: () => {
      const state = hasher.save();
      const digest = hasher.digest("binary");
      hasher.load(state);
      return digest;
    },
  };
}

function jsEngine(): Engine {
  const hash = nobleSha256.create();
  return {
    update: (data) => {
      hash.update(data);
    },
    digest: () => hash.clone().digest(),
  };
}

async function newEngine(prefer: Sha256Engine): Promise<[Engine, Sha256Engine]> {
  if (prefer === "wasm") {
    wasmWorks ??= createSHA256().then(
      () => true,
      () => false, // no WebAssembly, or a CSP without 'wasm-unsafe-eval'
    );
    if (await wasmWorks) return [wasmEngine(await createSHA256()), "wasm"];
  }
  return [jsEngine(), "js"];
}

export class Sha256 {
  readonly #engine: Engine;
  #size = 0;

  private constructor(
    hasher: Engine,
    /** which implementation hashes (for benchmarks and tests) */
    readonly engine: Sha256Engine,
  ) {
    this.#engine = hasher;
  }

  /** A new hash: WebAssembly where the environment allows it, else JavaScript. */
  static async create(prefer: Sha256Engine = "wasm"): Promise<Sha256> {
    const [hasher, kind] = await newEngine(prefer);
    return new Sha256(hasher, kind);
  }

  update(data: Uint8Array): this {
    this.#engine.update(data);
    this.#size += data.length;
    return this;
  }

  /** Bytes hashed so far. */
  get size(): number {
    return this.#size;
  }

  /** The digest of what was hashed so far; more may follow. */
  digest(): Uint8Array {
    return this.#engine.digest();
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
