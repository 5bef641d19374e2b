/**
 * The service worker's side of the player: answer each byte range the `<video>` (or
 * `<audio>`) asks for with decrypted plaintext, from the viewing's ciphertext ranges.
 *
 * A plaintext range maps to whole STREAM chunks (`AgeReader.plaintextRange`); those are
 * fetched from `/api/v1/views/{view}/content` with `Range` — each request re-checked by the
 * server, so a revocation stops the player at its next one — and each chunk is
 * authenticated by the item key before its plaintext is given to the player. The answer is
 * a 206 with the plaintext's `Content-Range` and the signed size, streamed a window at a
 * time as the player reads, so memory stays flat and a seek fetches only what it needs.
 *
 * Nothing decrypted is stored, and nothing goes to the server.
 */

import { AgeReader, MAX_HEADER, prefixLength } from "../age-open.js";
import type { Identity } from "../age-recipients.js";
import { CHUNK } from "../age-stream.js";
import { IntegrityError } from "../errors.js";
import { ApiError, errorOf } from "./api.js";

/** Plaintext chunks fetched and decrypted per request to the server (2 MiB). */
const WINDOW_CHUNKS = 32;
const FIRST_BYTES = 16 * 1024;
const RANGE = /^bytes=(\d+)-(\d*)$/;

/** Fetch ciphertext bytes [start, end) of the viewing; a refusal is the server's error. */
export type FetchCiphertext = (start: number, end: number) => Promise<Uint8Array>;

export function viewFetcher(view: string, ciphertextSize: number): FetchCiphertext {
  return async (start, end) => {
    let response: Response;
    try {
      response = await fetch(`/api/v1/views/${view}/content`, {
        headers: { Range: `bytes=${start}-${end - 1}` },
        credentials: "same-origin",
        cache: "no-store",
      });
    } catch {
      throw new ApiError("the custody server could not be reached", "check your connection", 0, "server_unavailable");
    }
    if (!response.ok) throw await errorOf(response);
    const expected = `bytes ${start}-${end - 1}/${ciphertextSize}`;
    if (response.status !== 206 || response.headers.get("Content-Range") !== expected) {
      throw new IntegrityError("the server did not answer the range asked for");
    }
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.length !== end - start) throw new IntegrityError("the server did not answer the range asked for");
    return bytes;
  };
}

/** One item being played: its opened header, and where its ciphertext comes from. */
export class Playback {
  private constructor(
    private readonly reader: AgeReader,
    private readonly fetchCiphertext: FetchCiphertext,
    readonly size: number,
    readonly ciphertextSize: number,
    readonly mediaType: string,
  ) {}

  /** Open the age header with `itemKey`; the plaintext must have the signed `size`. */
  static async open(
    itemKey: Identity,
    fetchCiphertext: FetchCiphertext,
    signed: { size: number; ciphertextSize: number; mediaType: string },
  ): Promise<Playback> {
    const total = signed.ciphertextSize;
    let prefix = await fetchCiphertext(0, Math.min(FIRST_BYTES, total));
    if (prefixLength(prefix) === null && prefix.length < total) {
      prefix = await fetchCiphertext(0, Math.min(MAX_HEADER + 64, total));
    }
    const reader = await AgeReader.open(prefix, [itemKey]);
    if (reader.plaintextSize(total) !== signed.size) {
      throw new IntegrityError("the ciphertext is not the size the sender signed");
    }
    return new Playback(reader, fetchCiphertext, signed.size, total, signed.mediaType);
  }

  /** The answer to one request of the player. `onRefused` hears a failure mid-stream. */
  answer(rangeHeader: string | null, onRefused: (error: unknown) => void): Response {
    const size = this.size;
    let start = 0;
    let end = size; // exclusive
    if (rangeHeader !== null) {
      const match = RANGE.exec(rangeHeader.trim());
      if (match === null) return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${size}` } });
      start = Number(match[1]);
      if (match[2]) end = Math.min(Number(match[2]) + 1, size);
      if (!Number.isSafeInteger(start) || start >= size || start >= end) {
        return new Response(null, { status: 416, headers: { "Content-Range": `bytes */${size}` } });
      }
    }
    const headers: Record<string, string> = {
      "Content-Type": this.mediaType,
      "Content-Length": String(end - start),
      "Accept-Ranges": "bytes",
      "Cache-Control": "no-store",
    };
    if (rangeHeader !== null) headers["Content-Range"] = `bytes ${start}-${end - 1}/${size}`;
    return new Response(this.#plaintext(start, end, onRefused), {
      status: rangeHeader === null ? 200 : 206,
      headers,
    });
  }

  /** Plaintext [start, end), a window of chunks per pull, as the player reads. */
  #plaintext(start: number, end: number, onRefused: (error: unknown) => void): ReadableStream<Uint8Array> {
    let position = start;
    let cancelled = false;
    const windowBytes = WINDOW_CHUNKS * CHUNK;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          // To the end of the window that holds `position` (windows aligned on chunks).
          const upTo = Math.min(end, (Math.floor(position / windowBytes) + 1) * windowBytes);
          try {
            const span = this.reader.plaintextRange(position, upTo, this.ciphertextSize);
            const sealed = await this.fetchCiphertext(span.ciphertextStart, span.ciphertextEnd);
            const plain = this.reader.decryptRange(span, sealed, this.ciphertextSize);
            // The player dropped this range while its window was on the way (a seek does):
            // nothing to hand over, and nothing went wrong.
            if (cancelled) return;
            controller.enqueue(plain);
          } catch (error) {
            if (cancelled) return;
            onRefused(error);
            controller.error(error);
            return;
          }
          position = upTo;
          if (position >= end) controller.close();
        },
        cancel: () => {
          cancelled = true;
        },
      },
      { highWaterMark: 0 },
    );
  }
}
