/** Incremental SHA-256 agrees with one-shot hashing and with Node's own, however it is fed. */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { Sha256, hashingStream, sha256Hex } from "../src/hash.js";
import { pseudoRandom, readAll, streamOf } from "./support.js";

test("incremental SHA-256 matches one-shot and node:crypto for many piece sizes", async () => {
  const data = pseudoRandom(1_000_003, 9);
  const expected = createHash("sha256").update(data).digest("hex");
  assert.equal(sha256Hex(data), expected);
  for (const piece of [1, 63, 64, 65, 4096, 65536, 999_999]) {
    const hash = new Sha256();
    for (let i = 0; i < data.length; i += piece) hash.update(data.subarray(i, i + piece));
    assert.equal(hash.hexdigest(), expected, `pieces of ${piece}`);
    assert.equal(hash.size, data.length);
  }
  const passing = new Sha256();
  const out = await readAll(streamOf(data, [7777]).pipeThrough(hashingStream(passing)));
  assert.equal(out.length, data.length);
  assert.equal(passing.hexdigest(), expected);
  // digest() does not end the hash: more can follow.
  const growing = new Sha256().update(data.subarray(0, 10));
  growing.digest();
  growing.update(data.subarray(10, 20));
  assert.equal(growing.hexdigest(), sha256Hex(data.subarray(0, 20)));
  assert.equal(new Sha256().hexdigest(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
});
