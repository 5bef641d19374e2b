/**
 * The player's ranges (`app/play-ranges.ts`): a range the player drops while its window is
 * on the way (as a seek does) ends quietly; it is not reported as a failure, which would
 * stop the player ("Cannot enqueue a chunk into a closed readable stream").
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { Identity, encrypt } from "../src/age.js";
import { Playback } from "../src/app/play-ranges.js";
import { pseudoRandom } from "./support.js";

test("a range cancelled while its window is fetched ends without a failure", async () => {
  const identity = Identity.generate();
  const plaintext = pseudoRandom(3 * 1024 * 1024, 7);
  const sealed = encrypt(plaintext, [identity.recipient]);
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let opened = false;
  const fetchCiphertext = async (start: number, end: number): Promise<Uint8Array> => {
    if (opened) await gate; // the window's answer arrives after the player has gone
    return sealed.slice(start, end);
  };
  const playback = await Playback.open(identity, fetchCiphertext, {
    size: plaintext.length,
    ciphertextSize: sealed.length,
    mediaType: "video/mp4",
  });
  opened = true;
  const refused: unknown[] = [];
  const response = playback.answer("bytes=1048576-", (error) => refused.push(error));
  assert.equal(response.status, 206);
  const reader = response.body!.getReader();
  const reading = reader.read();
  await new Promise((resolve) => setTimeout(resolve, 0)); // the window's pull has begun
  await reader.cancel();
  release();
  assert.deepEqual(await reading, { done: true, value: undefined });
  await new Promise((resolve) => setTimeout(resolve, 10)); // the pull has finished by now
  assert.deepEqual(refused, []);
});

test("a range read to its end is the plaintext", async () => {
  const identity = Identity.generate();
  const plaintext = pseudoRandom(3 * 1024 * 1024, 8);
  const sealed = encrypt(plaintext, [identity.recipient]);
  const playback = await Playback.open(identity, async (s, e) => sealed.slice(s, e), {
    size: plaintext.length,
    ciphertextSize: sealed.length,
    mediaType: "video/mp4",
  });
  const refused: unknown[] = [];
  const response = playback.answer("bytes=100-2999999", (error) => refused.push(error));
  const got = new Uint8Array(await response.arrayBuffer());
  assert.deepEqual(got, plaintext.slice(100, 3000000));
  assert.deepEqual(refused, []);
});
