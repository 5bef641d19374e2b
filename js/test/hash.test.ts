/**
 * Incremental SHA-256 (hash-wasm's WebAssembly, and noble's JavaScript fallback) agrees
 * with the FIPS 180-2 vectors, with noble's one-shot hash and with Node's own, however it
 * is fed.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";

import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";

import { toHex } from "../src/bytes.js";
import { Sha256, type Sha256Engine, hashingStream, sha256Hex } from "../src/hash.js";
import { pseudoRandom, readAll, streamOf } from "./support.js";

const ENGINES: Sha256Engine[] = ["wasm", "js"];
const ascii = (s: string) => new TextEncoder().encode(s);

/** FIPS 180-2 appendix B (and the empty message). */
const VECTORS: [Uint8Array, string][] = [
  [new Uint8Array(0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  [ascii("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  [
    ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  ],
  [new Uint8Array(1_000_000).fill(0x61), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"],
];

test("the WebAssembly engine is the one used in Node", async () => {
  assert.equal((await Sha256.create()).engine, "wasm");
  assert.equal((await Sha256.create("js")).engine, "js");
});

for (const engine of ENGINES) {
  test(`${engine}: FIPS 180-2 vectors, whole and byte by byte`, async () => {
    for (const [message, expected] of VECTORS) {
      assert.equal((await Sha256.create(engine)).update(message).hexdigest(), expected);
      if (message.length <= 64) {
        const bytewise = await Sha256.create(engine);
        for (let i = 0; i < message.length; i++) bytewise.update(message.subarray(i, i + 1));
        assert.equal(bytewise.hexdigest(), expected);
      }
    }
  });

  test(`${engine}: incremental SHA-256 matches noble and node:crypto for many piece sizes`, async () => {
    const data = pseudoRandom(1_000_003, 9);
    const expected = createHash("sha256").update(data).digest("hex");
    assert.equal(sha256Hex(data), expected);
    assert.equal(toHex(nobleSha256(data)), expected);
    // 16384: hash-wasm's own buffer; pieces around it cross it in every way
    for (const piece of [1, 63, 64, 65, 4096, 16383, 16384, 16385, 65536, 999_999, 1_000_003]) {
      const hash = await Sha256.create(engine);
      for (let i = 0; i < data.length; i += piece) hash.update(data.subarray(i, i + piece));
      assert.equal(hash.hexdigest(), expected, `pieces of ${piece}`);
      assert.equal(hash.size, data.length);
    }
    const passing = await Sha256.create(engine);
    const out = await readAll(streamOf(data, [7777]).pipeThrough(hashingStream(passing)));
    assert.equal(out.length, data.length);
    assert.equal(passing.hexdigest(), expected);
  });

  test(`${engine}: digest() does not end the hash, and hashes do not share state`, async () => {
    const data = pseudoRandom(100_000, 3);
    const growing = (await Sha256.create(engine)).update(data.subarray(0, 10));
    assert.equal(growing.hexdigest(), sha256Hex(data.subarray(0, 10)));
    growing.update(data.subarray(10, 20));
    assert.equal(growing.hexdigest(), sha256Hex(data.subarray(0, 20)));
    assert.equal(growing.hexdigest(), sha256Hex(data.subarray(0, 20)), "asking twice changes nothing");
    // two hashes fed in turn, as a send hashes its plaintext and its ciphertext
    const [a, b] = await Promise.all([Sha256.create(engine), Sha256.create(engine)]);
    for (let i = 0; i < data.length; i += 30_000) {
      a.update(data.subarray(i, i + 30_000));
      b.update(data.subarray(i, i + 7));
    }
    assert.equal(a.hexdigest(), sha256Hex(data));
    const fed: Uint8Array[] = [];
    for (let i = 0; i < data.length; i += 30_000) fed.push(data.subarray(i, i + 7));
    assert.equal(b.hexdigest(), sha256Hex(Uint8Array.from(fed.flatMap((p) => [...p]))));
    assert.equal((await Sha256.create(engine)).hexdigest(), VECTORS[0]?.[1]);
  });
}
