/** The tus file reader hands out the bytes of the one age file, from any offset, in any size. */

import assert from "node:assert/strict";
import { test } from "node:test";

import type { UploadOptions } from "tus-js-client";

import { CHUNK, Identity, SealPlan, decrypt } from "../src/age.js";
import { equal } from "../src/bytes.js";
import { blobSource, sealedFileReader } from "../src/upload.js";
import { pseudoRandom, readAll, streamOf } from "./support.js";

test("tus reads the same age file from any offset, in any chunk size", async () => {
  const identity = Identity.generate();
  const plaintext = pseudoRandom(4 * CHUNK + 999, 5);
  const plan = SealPlan.create([identity.recipient]);
  const whole = await readAll(plan.encryptStream(streamOf(plaintext), plaintext.length));
  const reader = sealedFileReader(plan, blobSource(new Blob([plaintext as Uint8Array<ArrayBuffer>])));
  const options: UploadOptions = { fileReader: reader }; // the type tus-js-client expects
  assert.ok(options.fileReader);
  for (const [offset, chunkSize] of [[0, 1 << 20], [0, 1000], [12345, 65552], [whole.length - 3, 10], [whole.length, 5]] as const) {
    const source = await reader.openFile(null, chunkSize);
    assert.equal(source.size, whole.length);
    const parts: Uint8Array[] = [];
    for (let start = offset; ; start += chunkSize) {
      const { value, done } = await source.slice(start, start + chunkSize);
      parts.push(value);
      if (done) break;
    }
    source.close();
    const sent = new Uint8Array(await new Blob(parts as Uint8Array<ArrayBuffer>[]).arrayBuffer());
    assert.ok(equal(sent, whole.subarray(offset)), `from ${offset} in ${chunkSize}-byte pieces`);
  }
  assert.ok(equal(await decrypt(whole, [identity]), plaintext));
});
