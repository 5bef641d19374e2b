/**
 * Decrypting age files: the header (file key, MAC), then the STREAM payload — whole, as a
 * stream in constant memory, or any chunk or byte range alone ({@link AgeReader}).
 * Every failure is the one opaque {@link DecryptionFailed}.
 */

import { Malformed, type Stanza, headerEnd, headerMac, parseHeader } from "./age-format.js";
import type { Unwrapper } from "./age-recipients.js";
import type { ChunkSpan } from "./age-seal.js";
import { CHUNK, NONCE_SIZE, SEALED_CHUNK, TAG, chunkCount, openChunk, openedSize, payloadKey } from "./age-stream.js";
import { ByteQueue } from "./bytequeue.js";
import { constantTimeEqual } from "./bytes.js";
import { DecryptionFailed, InvalidInput } from "./errors.js";

/** A header this large is an attack, not a file. */
export const MAX_HEADER = 1 << 20;

/** Header, file key and MAC check (age spec, "Decryption"); Malformed if anything fails. */
async function unlock(header: Uint8Array, identities: readonly Unwrapper[]): Promise<Uint8Array> {
  const parsed = parseHeader(header);
  const types = parsed.stanzas.map((s: Stanza) => s.type);
  if (types.includes("scrypt") && types.length !== 1) {
    throw new Malformed("an scrypt stanza must be alone in the header");
  }
  let fileKey: Uint8Array | null = null;
  for (const identity of identities) {
    fileKey = await identity.unwrap(parsed.stanzas);
    if (fileKey !== null) break;
  }
  if (fileKey === null) throw new Malformed("no identity matches");
  if (!constantTimeEqual(headerMac(fileKey, parsed.authenticated), parsed.mac)) {
    throw new Malformed("header MAC mismatch");
  }
  return fileKey;
}

/** An error of the stream being read (a network failure), not of what it holds. */
class SourceFailed extends Error {
  constructor(readonly original: unknown) {
    super("the source failed");
  }
}

export async function failOpaquely<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SourceFailed) throw error.original;
    if (error instanceof Malformed) throw new DecryptionFailed(error.message);
    if (error instanceof DecryptionFailed) throw error;
    throw new DecryptionFailed(error instanceof Error ? error.message : String(error));
  }
}

/**
 * Bytes the prefix (header and payload nonce) of an age file takes, once `buffer` (the
 * file's first bytes) holds the whole header; null if more bytes are needed. Throws
 * {@link DecryptionFailed} if the buffer already exceeds {@link MAX_HEADER} without one.
 */
export function prefixLength(buffer: Uint8Array): number | null {
  const end = headerEnd(buffer);
  if (end === null) {
    if (buffer.length > MAX_HEADER) throw new DecryptionFailed("no complete header");
    return null;
  }
  return end + NONCE_SIZE;
}

/** An age file whose header one of our identities opened: decrypt any part of its payload. */
export class AgeReader {
  readonly #key: Uint8Array;

  private constructor(
    key: Uint8Array,
    /** Bytes of header and payload nonce before the first chunk. */
    readonly prefixSize: number,
  ) {
    this.#key = key;
  }

  /** Open the header; `prefix` is the file's first bytes (at least {@link prefixLength}). */
  static async open(prefix: Uint8Array, identities: readonly Unwrapper[]): Promise<AgeReader> {
    return failOpaquely(async () => {
      const end = headerEnd(prefix);
      if (end === null || end + NONCE_SIZE > prefix.length) {
        throw new Malformed("the prefix does not hold the header and the payload nonce");
      }
      const fileKey = await unlock(prefix.subarray(0, end), identities);
      const nonce = prefix.subarray(end, end + NONCE_SIZE);
      return new AgeReader(payloadKey(fileKey, nonce), end + NONCE_SIZE);
    });
  }

  /** The plaintext size of the whole file; DecryptionFailed if no age file has this size. */
  plaintextSize(ciphertextSize: number): number {
    const size = openedSize(ciphertextSize - this.prefixSize);
    if (size === null) throw new DecryptionFailed("impossible ciphertext size");
    return size;
  }

  /** Which bytes of the age file to fetch to decrypt plaintext bytes [start, end). */
  plaintextRange(start: number, end: number, ciphertextSize: number): ChunkSpan {
    const size = this.plaintextSize(ciphertextSize);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > size) {
      throw new InvalidInput(`range ${start}..${end} is outside the plaintext (0..${size})`);
    }
    if (start === end) {
      return { start, end, firstChunk: 0, lastChunk: -1, plaintextStart: start, plaintextEnd: start,
        ciphertextStart: this.prefixSize, ciphertextEnd: this.prefixSize };
    }
    const firstChunk = Math.floor(start / CHUNK);
    const lastChunk = Math.floor((end - 1) / CHUNK);
    return {
      start,
      end,
      firstChunk,
      lastChunk,
      plaintextStart: firstChunk * CHUNK,
      plaintextEnd: Math.min((lastChunk + 1) * CHUNK, size),
      ciphertextStart: this.prefixSize + firstChunk * SEALED_CHUNK,
      ciphertextEnd: Math.min(this.prefixSize + (lastChunk + 1) * SEALED_CHUNK, ciphertextSize),
    };
  }

  /** Plaintext of chunk `index` from its sealed bytes, in a file of `ciphertextSize` bytes. */
  decryptChunk(index: number, sealed: Uint8Array, ciphertextSize: number): Uint8Array {
    const final = chunkCount(this.plaintextSize(ciphertextSize)) - 1;
    if (!Number.isSafeInteger(index) || index < 0 || index > final) {
      throw new InvalidInput(`the file has no chunk ${index}`);
    }
    const plaintext = openChunk(this.#key, index, index === final, sealed);
    if (plaintext === null) throw new DecryptionFailed(`chunk ${index} does not authenticate`);
    return plaintext;
  }

  /**
   * Plaintext bytes [span.start, span.end), from the age file's bytes
   * [span.ciphertextStart, span.ciphertextEnd) that {@link plaintextRange} named.
   */
  decryptRange(span: ChunkSpan, sealed: Uint8Array, ciphertextSize: number): Uint8Array {
    if (sealed.length !== span.ciphertextEnd - span.ciphertextStart) {
      throw new InvalidInput("the ciphertext given is not the span's ciphertext");
    }
    const out = new Uint8Array(span.end - span.start);
    let filled = 0;
    for (let index = span.firstChunk; index <= span.lastChunk; index++) {
      const offset = (index - span.firstChunk) * SEALED_CHUNK;
      const plaintext = this.decryptChunk(
        index,
        sealed.subarray(offset, Math.min(offset + SEALED_CHUNK, sealed.length)),
        ciphertextSize,
      );
      const chunkStart = index * CHUNK;
      const from = Math.max(span.start, chunkStart) - chunkStart;
      const to = Math.min(span.end, chunkStart + plaintext.length) - chunkStart;
      out.set(plaintext.subarray(from, to), filled);
      filled += to - from;
    }
    return out;
  }
}

/** What one step of {@link StreamOpener} gave: a chunk's plaintext, a failure, or both. */
interface Step {
  readonly plaintext: Uint8Array | null;
  readonly error: Malformed | null;
  readonly finished: boolean;
}

/**
 * Open STREAM chunks as they arrive, as age and custody's Python do with no size known in
 * advance: a full chunk followed by more data must be a middle chunk (or is released, then
 * refused, if it was marked last); the final piece must be marked last; only an empty
 * payload has an empty chunk. Plaintext is given out only after its chunk authenticated.
 */
class StreamOpener {
  #counter = 0;

  constructor(readonly key: Uint8Array) {}

  /** One chunk; the queue must hold more than one sealed chunk, or all that is left. */
  step(queue: ByteQueue, atEnd: boolean): Step {
    if (queue.length > SEALED_CHUNK) {
      const piece = queue.take(SEALED_CHUNK);
      const plaintext = openChunk(this.key, this.#counter, false, piece);
      if (plaintext !== null) {
        this.#counter++;
        return { plaintext, error: null, finished: false };
      }
      const last = openChunk(this.key, this.#counter, true, piece);
      const error = new Malformed(last === null ? "chunk does not authenticate" : "data after the final chunk");
      return { plaintext: last, error, finished: true };
    }
    if (!atEnd) throw new Error("StreamOpener.step needs more data or the end of input");
    const piece = queue.take(queue.length);
    if (piece.length === 0) return this.#fail("payload has no chunks");
    if (piece.length < SEALED_CHUNK) {
      if (piece.length < TAG || (piece.length === TAG && this.#counter !== 0)) {
        return this.#fail("truncated or empty final chunk");
      }
      const plaintext = openChunk(this.key, this.#counter, true, piece);
      if (plaintext === null) return this.#fail("final chunk does not authenticate");
      return { plaintext, error: null, finished: true };
    }
    const notLast = openChunk(this.key, this.#counter, false, piece);
    if (notLast !== null) return { plaintext: notLast, error: new Malformed("no final chunk"), finished: true };
    const last = openChunk(this.key, this.#counter, true, piece);
    if (last === null) return this.#fail("chunk does not authenticate");
    return { plaintext: last, error: null, finished: true };
  }

  #fail(why: string): Step {
    return { plaintext: null, error: new Malformed(why), finished: true };
  }
}

export async function openWhole(
  data: Uint8Array,
  identities: readonly Unwrapper[],
  emit: (plaintext: Uint8Array) => void,
): Promise<void> {
  const end = headerEnd(data);
  if (end === null || end > MAX_HEADER + 4096) throw new Malformed("no complete header");
  const fileKey = await unlock(data.subarray(0, end), identities);
  if (data.length - end < NONCE_SIZE) throw new Malformed("payload nonce truncated");
  const opener = new StreamOpener(payloadKey(fileKey, data.subarray(end, end + NONCE_SIZE)));
  const queue = new ByteQueue();
  queue.push(data.subarray(end + NONCE_SIZE));
  for (;;) {
    const { plaintext, error, finished } = opener.step(queue, true);
    if (plaintext !== null) emit(plaintext);
    if (error !== null) throw error;
    if (finished) return;
  }
}

/**
 * Decrypt a whole age file from a stream in constant memory. Resolves once the header is
 * opened (rejects with {@link DecryptionFailed} if it cannot be); the returned stream
 * yields plaintext chunk by chunk, each only after it authenticated, and errors with
 * DecryptionFailed if a later chunk fails: write to a temporary place, and keep the result
 * only if the stream ended without error. Binary age files only (no armor), as Python's
 * `decrypt_stream`.
 */
export async function decryptStream(
  source: ReadableStream<Uint8Array>,
  identities: readonly Unwrapper[],
  options: { onPlaintext?: (piece: Uint8Array) => void } = {},
): Promise<ReadableStream<Uint8Array>> {
  const reader = source.getReader();
  const queue = new ByteQueue();
  let done = false;
  const fill = async (): Promise<void> => {
    const next = await reader.read().catch((error: unknown) => {
      throw new SourceFailed(error);
    });
    if (next.done) done = true;
    else queue.push(next.value);
  };
  const key = await failOpaquely(async () => {
    let end: number | null = null;
    for (;;) {
      end = headerEnd(queue.peek(queue.length));
      if (end !== null) break;
      if (done || queue.length > MAX_HEADER) throw new Malformed("no complete header");
      await fill();
    }
    const fileKey = await unlock(queue.take(end), identities);
    while (queue.length < NONCE_SIZE && !done) await fill();
    if (queue.length < NONCE_SIZE) throw new Malformed("payload nonce truncated");
    return payloadKey(fileKey, queue.take(NONCE_SIZE));
  });
  const opener = new StreamOpener(key);
  let failure: DecryptionFailed | null = null;
  return new ReadableStream<Uint8Array>(
    {
      // One chunk per pull: an error discards what is still queued, so a chunk released
      // just before a failure is read first, and the failure comes with the next pull.
      pull: async (controller) => {
        if (failure !== null) throw failure;
        while (!done && queue.length <= SEALED_CHUNK) {
          await fill().catch((error: unknown) => {
            throw error instanceof SourceFailed ? error.original : error;
          });
        }
        const { plaintext, error, finished } = opener.step(queue, done);
        if (plaintext !== null) {
          options.onPlaintext?.(plaintext);
          controller.enqueue(plaintext);
        }
        if (error !== null) {
          await reader.cancel().catch(() => undefined);
          failure = new DecryptionFailed(error.message);
          if (plaintext === null) throw failure;
        } else if (finished) {
          controller.close();
        }
      },
      cancel: (reason) => reader.cancel(reason),
    },
    { highWaterMark: 0 },
  );
}

