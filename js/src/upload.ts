/**
 * An age file made on demand for an upload: tus-js-client's `fileReader` option, reading
 * plaintext (a `File`) and handing out ciphertext bytes [start, end) as tus asks for them.
 * A resumed upload asks from the server's offset on, and gets exactly the bytes a first
 * attempt would have sent (the {@link SealPlan} fixes every random choice).
 */

import type { SealPlan } from "./age-seal.js";

/** The plaintext of one item: its size, and any byte range of it. */
export interface PlaintextSource {
  readonly size: number;
  read(start: number, end: number): Promise<Uint8Array>;
}

/** A `Blob` (or `File`) as a {@link PlaintextSource}. */
export function blobSource(blob: Blob): PlaintextSource {
  return {
    size: blob.size,
    read: async (start, end) => new Uint8Array(await blob.slice(start, end).arrayBuffer()),
  };
}

/** tus-js-client's `FileSource`: the age file's size and its bytes by range. */
export class SealedSource {
  readonly size: number;

  constructor(
    readonly plan: SealPlan,
    readonly plaintext: PlaintextSource,
  ) {
    this.size = plan.ciphertextSize(plaintext.size);
  }

  /** Ciphertext bytes [start, min(end, size)); `done` once the end of the file is reached. */
  async slice(start: number, end: number): Promise<{ value: Uint8Array; done: boolean }> {
    const stop = Math.min(end, this.size);
    const span = this.plan.ciphertextRange(start, stop, this.plaintext.size);
    const plaintext = await this.plaintext.read(span.plaintextStart, span.plaintextEnd);
    if (plaintext.length !== span.plaintextEnd - span.plaintextStart) {
      throw new RangeError("the file changed while it was being sent");
    }
    return { value: this.plan.encryptRange(span, plaintext, this.plaintext.size), done: stop >= this.size };
  }

  close(): void {}
}

/** The `fileReader` option for `new tus.Upload(file, { fileReader, ... })`. */
export function sealedFileReader(
  plan: SealPlan,
  plaintext: PlaintextSource,
): { openFile(input: unknown, chunkSize: number): Promise<SealedSource> } {
  return { openFile: () => Promise.resolve(new SealedSource(plan, plaintext)) };
}
