/**
 * Deterministic, resumable, seekable encryption of one large file into a standard age file
 * (`crypto/seal.py`). A {@link SealPlan} fixes everything random up front (file key, header,
 * payload nonce), so the ciphertext is a pure function of the plaintext: any chunk or byte
 * range of it can be made alone, and an interrupted upload resumes from the server's offset
 * with byte-identical bytes. The plan is secret (it holds the file key).
 */

import { encodeHeader, headerEnd, headerMac, headerWithoutMac, parseHeader } from "./age-format.js";
import { FILE_KEY_SIZE, type Recipient } from "./age-recipients.js";
import { CHUNK, NONCE_SIZE, SEALED_CHUNK, TAG, chunkCount, payloadKey, sealChunk, sealedSize } from "./age-stream.js";
import { ByteQueue } from "./bytequeue.js";
import { ascii, concat, constantTimeEqual, randomBytes, startsWith } from "./bytes.js";
import { InvalidInput, LocalError } from "./errors.js";

const PLAN_MAGIC = ascii("custody-sealplan/v1\n");

function checkSize(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidInput(`${what} must be a non-negative integer`);
  }
}

/**
 * The chunks that cover a byte range, and where they lie in the plaintext and in the age
 * file. `start`/`end` is the range asked for: ciphertext offsets for
 * {@link SealPlan.ciphertextRange}, plaintext offsets for {@link AgeReader.plaintextRange}.
 * With no chunk needed (a range inside the header), `lastChunk` is `firstChunk - 1`.
 */
export interface ChunkSpan {
  readonly start: number;
  readonly end: number;
  readonly firstChunk: number;
  readonly lastChunk: number;
  /** Plaintext bytes of those whole chunks: read these to encrypt them. */
  readonly plaintextStart: number;
  readonly plaintextEnd: number;
  /** Offsets in the age file of those whole sealed chunks: fetch these to decrypt them. */
  readonly ciphertextStart: number;
  readonly ciphertextEnd: number;
}

/** The random choices for one age file, fixed so its ciphertext can be regenerated. */
export class SealPlan {
  readonly #fileKey: Uint8Array;
  readonly #header: Uint8Array;
  readonly #nonce: Uint8Array;
  readonly #key: Uint8Array;

  private constructor(fileKey: Uint8Array, header: Uint8Array, nonce: Uint8Array) {
    this.#fileKey = fileKey;
    this.#header = header;
    this.#nonce = nonce;
    this.#key = payloadKey(fileKey, nonce);
  }

  static create(recipients: readonly Recipient[]): SealPlan {
    if (recipients.length === 0) throw new InvalidInput("an age file needs at least one recipient");
    const fileKey = randomBytes(FILE_KEY_SIZE);
    const authenticated = headerWithoutMac(recipients.map((r) => r.wrap(fileKey)));
    const header = encodeHeader(authenticated, headerMac(fileKey, authenticated));
    return new SealPlan(fileKey, header, randomBytes(NONCE_SIZE));
  }

  /** @internal A plan around a header already made (the passphrase form). */
  static fromParts(fileKey: Uint8Array, header: Uint8Array, nonce: Uint8Array): SealPlan {
    return new SealPlan(fileKey, header, nonce);
  }

  /** `custody-sealplan/v1\n` ‖ file key ‖ nonce ‖ header, as Python's `to_secret_bytes`. */
  toSecretBytes(): Uint8Array {
    return concat(PLAN_MAGIC, this.#fileKey, this.#nonce, this.#header);
  }

  static fromSecretBytes(data: Uint8Array): SealPlan {
    const fixed = PLAN_MAGIC.length + FILE_KEY_SIZE + NONCE_SIZE;
    if (!startsWith(data, PLAN_MAGIC) || data.length <= fixed) {
      throw new InvalidInput("not a custody seal plan");
    }
    const fileKey = data.slice(PLAN_MAGIC.length, PLAN_MAGIC.length + FILE_KEY_SIZE);
    const nonce = data.slice(fixed - NONCE_SIZE, fixed);
    const header = data.slice(fixed);
    let authenticated: Uint8Array;
    let mac: Uint8Array;
    try {
      ({ authenticated, mac } = parseHeader(header));
    } catch {
      throw new InvalidInput("the seal plan's header is damaged");
    }
    if (headerEnd(header) !== header.length) throw new InvalidInput("the seal plan's header is damaged");
    if (!constantTimeEqual(headerMac(fileKey, authenticated), mac)) {
      throw new InvalidInput("the seal plan's header does not match its file key");
    }
    return new SealPlan(fileKey, header, nonce);
  }

  get header(): Uint8Array {
    return this.#header.slice();
  }

  /** Bytes before the first STREAM chunk: the header and the payload nonce. */
  get prefixSize(): number {
    return this.#header.length + NONCE_SIZE;
  }

  ciphertextSize(plaintextSize: number): number {
    checkSize(plaintextSize, "a size");
    return this.prefixSize + sealedSize(plaintextSize);
  }

  /** Which plaintext bytes to read to produce ciphertext bytes [start, end) of the age file. */
  ciphertextRange(start: number, end: number, plaintextSize: number): ChunkSpan {
    const total = this.ciphertextSize(plaintextSize);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start < 0 || start > end || end > total) {
      throw new InvalidInput(`range ${start}..${end} is outside the file (0..${total})`);
    }
    const prefix = this.prefixSize;
    if (end <= prefix) {
      return { start, end, firstChunk: 0, lastChunk: -1, plaintextStart: 0, plaintextEnd: 0,
        ciphertextStart: prefix, ciphertextEnd: prefix };
    }
    const firstChunk = Math.floor((Math.max(start, prefix) - prefix) / SEALED_CHUNK);
    const lastChunk = Math.floor((end - prefix - 1) / SEALED_CHUNK);
    return {
      start,
      end,
      firstChunk,
      lastChunk,
      plaintextStart: firstChunk * CHUNK,
      plaintextEnd: Math.min((lastChunk + 1) * CHUNK, plaintextSize),
      ciphertextStart: prefix + firstChunk * SEALED_CHUNK,
      ciphertextEnd: Math.min(prefix + (lastChunk + 1) * SEALED_CHUNK, total),
    };
  }

  /** Sealed chunk `index` of a file of `plaintextSize` bytes, from that chunk's plaintext. */
  encryptChunk(index: number, plaintext: Uint8Array, plaintextSize: number): Uint8Array {
    checkSize(plaintextSize, "a size");
    const final = chunkCount(plaintextSize) - 1;
    const expected = index === final ? plaintextSize - final * CHUNK : CHUNK;
    if (!Number.isSafeInteger(index) || index < 0 || index > final || plaintext.length !== expected) {
      throw new InvalidInput(`chunk ${index} of a ${plaintextSize}-byte file is ${expected} bytes`);
    }
    return sealChunk(this.#key, index, index === final, plaintext);
  }

  /**
   * Ciphertext bytes [span.start, span.end) of the age file, from the plaintext bytes
   * [span.plaintextStart, span.plaintextEnd) the span names.
   */
  encryptRange(span: ChunkSpan, plaintext: Uint8Array, plaintextSize: number): Uint8Array {
    if (plaintext.length !== span.plaintextEnd - span.plaintextStart) {
      throw new InvalidInput("the plaintext given is not the span's plaintext");
    }
    const out = new Uint8Array(span.end - span.start);
    let filled = 0;
    const prefix = this.prefixSize;
    if (span.start < prefix) {
      const head = concat(this.#header, this.#nonce).subarray(span.start, Math.min(span.end, prefix));
      out.set(head, 0);
      filled = head.length;
    }
    const final = chunkCount(plaintextSize) - 1;
    const sealed = new Uint8Array(SEALED_CHUNK);
    for (let index = span.firstChunk; index <= span.lastChunk; index++) {
      const offset = (index - span.firstChunk) * CHUNK;
      const piece = plaintext.subarray(offset, Math.min(offset + CHUNK, plaintext.length));
      const chunkStart = prefix + index * SEALED_CHUNK; // file offset of this sealed chunk
      const whole = sealChunk(this.#key, index, index === final, piece, sealed.subarray(0, piece.length + TAG));
      const from = Math.max(span.start, chunkStart) - chunkStart;
      const to = Math.min(span.end, chunkStart + whole.length) - chunkStart;
      out.set(whole.subarray(from, to), filled);
      filled += to - from;
    }
    return out;
  }

  /**
   * The age file's bytes from offset `start` on, as a stream. All of `source` is read (and
   * passed to `onPlaintext`, to hash it in the same pass) but only chunks that reach
   * `start` are encrypted. The stream errors with {@link LocalError} if `source` does not
   * hold exactly `plaintextSize` bytes.
   */
  encryptStream(
    source: ReadableStream<Uint8Array>,
    plaintextSize: number,
    options: { start?: number; onPlaintext?: (piece: Uint8Array) => void } = {},
  ): ReadableStream<Uint8Array> {
    const total = this.ciphertextSize(plaintextSize);
    const start = options.start ?? 0;
    if (!Number.isSafeInteger(start) || start < 0 || start > total) {
      throw new InvalidInput(`resume offset ${start} is outside the file (0..${total})`);
    }
    const reader = source.getReader();
    const queue = new ByteQueue();
    const final = chunkCount(plaintextSize) - 1;
    const prefix = this.prefixSize;
    let index = 0;
    let sourceDone = false;
    let prefixSent = start >= prefix;
    const changed = () =>
      new LocalError(
        "the file changed while it was being sent (its size is not what was announced)",
        "make sure nothing is writing to the file, then send it again",
      );
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        if (!prefixSent) {
          prefixSent = true;
          controller.enqueue(concat(this.#header, this.#nonce).subarray(start));
          return;
        }
        for (;;) {
          if (index > final) {
            while (!sourceDone) {
              const { done, value } = await reader.read();
              if (done) sourceDone = true;
              else if (value.length > 0) throw changed();
            }
            controller.close();
            return;
          }
          const want = index === final ? plaintextSize - final * CHUNK : CHUNK;
          while (queue.length < want && !sourceDone) {
            const { done, value } = await reader.read();
            if (done) sourceDone = true;
            else {
              options.onPlaintext?.(value);
              queue.push(value);
            }
          }
          if (queue.length < want) throw changed();
          if (index === final && queue.length > want) throw changed();
          const piece = queue.take(want);
          const chunkStart = prefix + index * SEALED_CHUNK;
          const chunkEnd = chunkStart + want + TAG;
          const current = index;
          index++;
          if (chunkEnd <= start) continue; // before the resume offset: read, not encrypted
          const sealed = sealChunk(this.#key, current, current === final, piece);
          controller.enqueue(start > chunkStart ? sealed.subarray(start - chunkStart) : sealed);
          return;
        }
      },
      cancel: (reason) => reader.cancel(reason),
    });
  }
}

