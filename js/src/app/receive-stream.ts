/**
 * One item's plaintext as a stream a download can be written from, verified as it passes —
 * the streaming form of `custody receive`'s `_check_ciphertext` and `_decrypt_into_place`.
 *
 * The ciphertext is hashed and counted as it arrives and decrypted chunk by chunk (each
 * chunk authenticated before its plaintext is released); the plaintext is hashed too. The
 * LAST plaintext chunk is withheld until the ciphertext's size and SHA-256 and the
 * plaintext's size and SHA-256 all equal the signed ones: only then is it released and the
 * stream closed, so the browser never completes (names) a file that failed. On any failure
 * the stream errors at once; what failed is then named in the CLI's words and order
 * (ciphertext size, ciphertext hash, decryption, plaintext) — after reading the rest of the
 * ciphertext if need be, as the CLI reads all of it before it checks anything.
 *
 * Memory is flat: one sealed chunk at a time, and the one withheld.
 */

import type { Identity } from "../age.js";
import { decryptStream } from "../age-open.js";
import { CustodyError, IntegrityError, LocalError } from "../errors.js";
import { Sha256 } from "../hash.js";

/** What the sender signed about the content. */
export interface Signed {
  readonly size: number;
  readonly sha256: string;
  readonly ciphertextSize: number;
  readonly ciphertextSha256: string;
}

export type Verdict =
  | { readonly ok: true }
  /** `verification`: the content failed verification (report it); else interrupted. */
  | { readonly ok: false; readonly verification: boolean; readonly error: CustodyError };

export interface VerifiedDownload {
  /** The plaintext, for the browser to write; errors on any failure. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Settles once the stream closed verified, failed (and was judged), or was cancelled. */
  readonly verdict: Promise<Verdict>;
}

/**
 * The ciphertext as it arrives: hashed, counted, and never more than one byte past the
 * signed size. Cancelling it (as decryption does on a bad chunk) reads the rest, hashing
 * it, so the verdict can say whether the ciphertext itself differs.
 */
class CiphertextTap {
  readonly stream: ReadableStream<Uint8Array>;
  sourceError: unknown = null;
  #ended = false;
  #draining: Promise<void> | null = null;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  constructor(
    source: ReadableStream<Uint8Array>,
    private readonly limit: number,
    readonly hash: Sha256,
  ) {
    this.#reader = source.getReader();
    this.stream = new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          const piece = await this.#read();
          if (piece === null) controller.close();
          else controller.enqueue(piece);
        },
        cancel: () => {
          void this.drain();
        },
      },
      { highWaterMark: 0 },
    );
  }

  async #read(): Promise<Uint8Array | null> {
    if (this.#ended) return null;
    let next: ReadableStreamReadResult<Uint8Array>;
    try {
      next = await this.#reader.read();
    } catch (error) {
      this.sourceError = error;
      this.#ended = true;
      throw error;
    }
    if (next.done) {
      this.#ended = true;
      return null;
    }
    this.hash.update(next.value);
    if (this.hash.size > this.limit) {
      // Longer than signed: that is the verdict already; read no further.
      this.abandon();
      return null;
    }
    return next.value;
  }

  /** Read (and hash) whatever is left; resolves at the end, or at a source failure. */
  drain(): Promise<void> {
    this.#draining ??= (async () => {
      try {
        while ((await this.#read()) !== null) {
          // hashing only
        }
      } catch {
        // recorded as sourceError
      }
    })();
    return this.#draining;
  }

  /** Stop reading the source (the download was cancelled, or is already too long). */
  abandon(): void {
    this.#ended = true;
    this.#reader.cancel().catch(() => undefined);
  }
}

function judge(tap: CiphertextTap, plaintext: Sha256, signed: Signed, failure: unknown): Verdict {
  if (tap.sourceError !== null) {
    return {
      ok: false,
      verification: false,
      error: new LocalError("the download was interrupted", "try again: nothing was saved"),
    };
  }
  const refuse = (message: string): Verdict => ({ ok: false, verification: true, error: new IntegrityError(message) });
  if (tap.hash.size !== signed.ciphertextSize) return refuse("the ciphertext is not the size the sender signed");
  if (tap.hash.hexdigest() !== signed.ciphertextSha256) return refuse("the ciphertext is not what the sender signed");
  if (failure !== null) {
    if (failure instanceof CustodyError) return { ok: false, verification: true, error: failure };
    const said = failure instanceof Error ? failure.message : String(failure);
    return { ok: false, verification: false, error: new LocalError(`the browser failed while saving: ${said}`) };
  }
  if (plaintext.size !== signed.size || plaintext.hexdigest() !== signed.sha256) {
    return refuse("the decrypted content is not what the sender signed");
  }
  return { ok: true };
}

/**
 * Decrypt and verify `ciphertext` (the whole age file) to `itemKey`, against `signed`.
 * `onPlaintext` hears the plaintext bytes released so far (for progress).
 */
export async function verifiedDownload(
  ciphertext: ReadableStream<Uint8Array>,
  itemKey: Identity,
  signed: Signed,
  onPlaintext: (bytes: number) => void = () => undefined,
): Promise<VerifiedDownload> {
  const [ciphertextHash, plaintextHash] = await Promise.all([Sha256.create(), Sha256.create()]);
  const tap = new CiphertextTap(ciphertext, signed.ciphertextSize, ciphertextHash);
  let plaintext: ReadableStreamDefaultReader<Uint8Array> | null = null;
  let held: Uint8Array | null = null;
  let released = 0;
  let settle: (verdict: Verdict) => void = () => undefined;
  const verdict = new Promise<Verdict>((resolve) => {
    settle = resolve;
  });
  const conclude = async (failure: unknown): Promise<Verdict> => {
    await tap.drain();
    const judged = judge(tap, plaintextHash, signed, failure);
    settle(judged);
    return judged;
  };
  const release = (controller: ReadableStreamDefaultController<Uint8Array>, piece: Uint8Array): void => {
    controller.enqueue(piece);
    released += piece.length;
    onPlaintext(released);
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      // One chunk per pull, always one behind: the newest chunk is held back.
      pull: async (controller) => {
        try {
          plaintext ??= (
            await decryptStream(tap.stream, [itemKey], { onPlaintext: (p) => plaintextHash.update(p) })
          ).getReader();
          for (;;) {
            const next = await plaintext.read();
            if (next.done) break;
            const previous = held;
            held = next.value;
            if (previous !== null) {
              release(controller, previous);
              return;
            }
          }
        } catch (failure) {
          held = null;
          controller.error(failure); // the download fails now; the verdict follows
          await conclude(failure);
          return;
        }
        const judged = await conclude(null);
        if (judged.ok) {
          if (held !== null) release(controller, held);
          held = null;
          controller.close();
        } else {
          held = null;
          controller.error(judged.error);
        }
      },
      cancel: async () => {
        held = null;
        tap.abandon();
        await plaintext?.cancel().catch(() => undefined);
        settle({ ok: false, verification: false, error: new LocalError("the download was cancelled") });
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, verdict };
}
