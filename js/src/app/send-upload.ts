/**
 * One item's upload, as `client/sending.py`'s `_upload`: the age file streams from the
 * person's `File` through a {@link SealPlan} (constant memory), every byte of plaintext and
 * ciphertext is hashed on the way, and the ciphertext the server lacks goes up in tus 1.0.0
 * PATCHes of `patchBytes`, each with an `Upload-Checksum: sha256`. A resumed upload starts
 * at the server's offset; the bytes before it are read and hashed again (the manifest signs
 * the hashes of the whole file) but not sent.
 *
 * Our own PATCH loop, not tus-js-client 4.3.1: that client has no checksum extension (the
 * server could not refuse a damaged PATCH), re-reads a slice on retry and starts a resumed
 * upload at its offset (so it cannot hash the whole stream in one pass), and refuses a
 * source whose slices are `Uint8Array`s ("the source is done after N bytes": it counts
 * `value.size`, which only a `Blob` has). XHR, not fetch, for upload progress events.
 *
 * The next body is encrypted while a PATCH is on its way, on the worker's one thread: the
 * loop yields to the event loop every {@link YIELD_MS}, else reading already-buffered
 * plaintext resolves as microtasks only and the PATCH's answer (and its progress events)
 * wait until the next body is full, which halved the send (bench/README.md).
 */

import type { SealPlan } from "../age-seal.js";
import { toBase64 } from "../bytes.js";
import { CustodyError, IntegrityError, LocalError } from "../errors.js";
import { Sha256 } from "../hash.js";
import { type Api, ApiError } from "./api.js";

const TUS = { "Tus-Resumable": "1.0.0" } as const;
const UPLOAD_PATH = /^\/api\/v1\/uploads\/[0-9a-f]{32}$/;
const DECIMAL = /^[0-9]{1,18}$/;
/** Waits before each retry of a PATCH that failed on the way (seconds): about a minute in all. */
const RETRY_DELAYS = [1, 2, 4, 8, 15, 30];
const DISTRUST = "do not trust this server's answers; report it to your security team";
/** How long encryption runs before letting the worker's other tasks (XHR events) in (ms). */
const YIELD_MS = 10;

export interface UploadTarget {
  readonly item: string;
  upload: string | null;
}

export interface UploadEvents {
  /** the upload's URL is known (save it before any byte is sent) */
  created(url: string): Promise<void>;
  resumed(offset: number, length: number): void;
  /** `uploaded`: ciphertext bytes on the server or on their way; `read`: bytes re-read so far */
  progress(uploaded: number, read: number): void;
}

export interface Hashes {
  readonly sha256: string;
  readonly ciphertextSha256: string;
}

/** A PATCH that did not go through: retried when the network or the server may recover. */
class PatchFailed extends CustodyError {
  constructor(
    readonly status: number,
    message: string,
    hint?: string,
  ) {
    super(message, hint);
  }

  get retryable(): boolean {
    return this.status === 0 || this.status >= 500 || [408, 409, 423, 429, 460].includes(this.status);
  }
}

/** The server's `Upload-Offset`, refused unless a decimal within the upload (`_offset`). */
export function checkOffset(header: string | null, length: number): number {
  if (header === null || !DECIMAL.test(header) || Number(header) > length) {
    throw new IntegrityError(
      `the server answered an upload offset of '${String(header).slice(0, 20)}' for ${length} bytes`,
      DISTRUST,
    );
  }
  return Number(header);
}

/** A tus upload's `Location`: a path on this server, never another host's URL (`ids.py`). */
export function uploadPath(value: string | null): string {
  if (value === null || !UPLOAD_PATH.test(value)) {
    throw new IntegrityError(`the server sent a malformed upload location: '${String(value).slice(0, 80)}'`, DISTRUST);
  }
  return value;
}

export class ItemUpload {
  constructor(
    private readonly api: Api,
    private readonly csrf: string,
    private readonly patchBytes: number,
  ) {}

  /** Upload what the server lacks of `file`'s age file; the hashes of all of it. */
  async run(target: UploadTarget, file: Blob, plan: SealPlan, on: UploadEvents): Promise<Hashes> {
    const length = plan.ciphertextSize(file.size);
    const offset = await this.#start(target, length, on);
    const url = target.upload as string;
    if (offset > 0) on.resumed(offset, length);
    const [plain, cipher] = await Promise.all([Sha256.create(), Sha256.create()]);
    const reader = plan
      .encryptStream(file.stream(), file.size, { onPlaintext: (piece) => plain.update(piece) })
      .getReader();
    let position = 0; // ciphertext bytes read so far
    let queued = offset; // ciphertext bytes on the server or in a body
    let body = new Uint8Array(this.patchBytes);
    let fill = 0;
    let bodyStart = offset;
    let inflight: Promise<void> = Promise.resolve();
    let confirmed = offset;
    let uploaded = offset;
    const report = () => on.progress(uploaded, position);
    const flush = async (): Promise<void> => {
      const part = body.subarray(0, fill);
      const digest = sha256Of(part); // while the previous PATCH is still on its way
      digest.catch(() => undefined); // awaited by #patch, unless the previous PATCH failed
      await inflight; // one PATCH at a time: tus appends in order
      const at = bodyStart;
      inflight = this.#patch(url, part, at, digest, length, (n) => {
        uploaded = at + n;
        report();
      }).then(() => {
        confirmed = at + part.length;
      });
      inflight.catch(() => undefined); // awaited at the next flush or at the end
      body = new Uint8Array(this.patchBytes); // the one in flight is the XHR's until it ends
      fill = 0;
      bodyStart = queued;
    };
    let ran = performance.now();
    try {
      for (;;) {
        if (performance.now() - ran >= YIELD_MS) {
          await nextTask();
          ran = performance.now();
        }
        const { done, value } = await reader.read();
        if (done) break;
        cipher.update(value);
        const end = position + value.length;
        let from = Math.max(0, queued - position);
        position = end;
        while (from < value.length) {
          const n = Math.min(value.length - from, body.length - fill);
          body.set(value.subarray(from, from + n), fill);
          fill += n;
          from += n;
          queued += n;
          if (fill === body.length) await flush();
        }
        report();
      }
      if (fill > 0) await flush();
      await inflight;
    } catch (error) {
      await reader.cancel().catch(() => undefined);
      if (error instanceof DOMException || (error instanceof TypeError && !(error instanceof CustodyError))) {
        throw new LocalError(`cannot read ${file instanceof File ? file.name : "the file"}: ${error.message}`,
          "choose the file again; if it is on a removable disk, check it is still there");
      }
      throw error;
    }
    if (confirmed !== length) {
      throw new LocalError(`the upload ended at ${confirmed} of ${length} bytes`,
        "choose the same files again to resume");
    }
    return { sha256: plain.hexdigest(), ciphertextSha256: cipher.hexdigest() };
  }

  /** Where the upload stands: HEAD the one we have, or create it (tus creation). */
  async #start(target: UploadTarget, length: number, on: UploadEvents): Promise<number> {
    if (target.upload !== null) {
      try {
        const head = await this.api.request("HEAD", target.upload, { headers: TUS });
        return checkOffset(head.headers.get("Upload-Offset"), length);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
        target.upload = null; // gone (abandoned or expired): start this item's upload again
      }
    }
    const created = await this.api.request("POST", "/api/v1/uploads", {
      headers: { ...TUS, "Upload-Length": String(length), "Upload-Metadata": `item ${btoa(target.item)}` },
    });
    target.upload = uploadPath(created.headers.get("Location"));
    await on.created(target.upload);
    // A lost answer made the server hand back the upload it already holds for the item.
    return checkOffset(created.headers.get("Upload-Offset") ?? "0", length);
  }

  /**
   * PATCH `part` (whose SHA-256 is `digest`) at `start`; after a failure on the way, HEAD
   * and send the rest again.
   */
  async #patch(
    url: string,
    part: Uint8Array,
    start: number,
    digest: Promise<Uint8Array>,
    length: number,
    sent: (n: number) => void,
  ): Promise<void> {
    let at = start;
    for (let attempt = 0; ; attempt++) {
      const rest = part.subarray(at - start);
      try {
        const checksum = at === start ? digest : sha256Of(rest);
        const now = await this.#send(url, rest, await checksum, at, length, (n) => sent(at - start + n));
        if (now !== start + part.length) {
          throw new IntegrityError(`the server says the upload is at ${now}, not ${start + part.length}`, DISTRUST);
        }
        return;
      } catch (error) {
        const delay = RETRY_DELAYS[attempt];
        if (!(error instanceof PatchFailed) || !error.retryable || delay === undefined) {
          if (error instanceof PatchFailed && error.status === 460) {
            throw new IntegrityError("the server received different bytes than were sent",
              "choose the same files again to resume");
          }
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, delay * 1000));
        const head = await this.api.request("HEAD", url, { headers: TUS });
        const offset = checkOffset(head.headers.get("Upload-Offset"), length);
        if (offset < start || offset > start + part.length) {
          throw new IntegrityError(`the server says the upload is at ${offset}, outside ${start}..${start + part.length}`,
            DISTRUST);
        }
        at = offset;
        if (at === start + part.length) return;
      }
    }
  }

  /** One PATCH by XHR (fetch reports no upload progress); the server's new offset. */
  #send(
    url: string,
    bytes: Uint8Array,
    digest: Uint8Array,
    offset: number,
    length: number,
    sent: (n: number) => void,
  ): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PATCH", url);
      xhr.setRequestHeader("Tus-Resumable", "1.0.0");
      xhr.setRequestHeader("Upload-Offset", String(offset));
      xhr.setRequestHeader("Content-Type", "application/offset+octet-stream");
      xhr.setRequestHeader("Upload-Checksum", `sha256 ${toBase64(digest)}`);
      xhr.setRequestHeader("X-CSRF-Token", this.csrf);
      xhr.upload.onprogress = (event) => sent(event.loaded);
      xhr.onload = () => {
        if (xhr.status === 204) {
          try {
            resolve(checkOffset(xhr.getResponseHeader("Upload-Offset"), length));
          } catch (error) {
            reject(error);
          }
          return;
        }
        reject(failure(xhr));
      };
      xhr.onerror = () => reject(new PatchFailed(0, "the custody server could not be reached", "check your connection"));
      xhr.send(bytes as XMLHttpRequestBodyInit);
    });
  }
}

/** A PATCH body's `Upload-Checksum` digest: WebCrypto's, native and off this thread. */
async function sha256Of(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
}

/** Resolves in a new task: the event loop runs what is waiting (a setTimeout would wait 4 ms). */
function nextTask(): Promise<void> {
  return new Promise((resolve) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      channel.port1.close();
      resolve();
    };
    channel.port2.postMessage(null);
  });
}

function failure(xhr: XMLHttpRequest): PatchFailed {
  try {
    const body = JSON.parse(xhr.responseText) as { error?: { message?: string; hint?: string } };
    if (body.error && typeof body.error.message === "string") {
      return new PatchFailed(xhr.status, body.error.message, body.error.hint);
    }
  } catch {
    // not custody's envelope
  }
  return new PatchFailed(xhr.status, `the server answered ${xhr.status} to an upload`);
}
