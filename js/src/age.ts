/**
 * age v1 (C2SP age, https://age-encryption.org/v1), as custody's Python writes and reads it.
 *
 * - {@link SealPlan}: file key, header and payload nonce fixed up front, so the ciphertext
 *   is a pure function of the plaintext and any byte range of it can be produced alone
 *   (a resumed upload regenerates byte-identical ciphertext from the server's offset).
 * - {@link AgeReader}: an opened header; decrypts any chunk or byte range of the payload
 *   alone (seekable playback), given the file's total size.
 * - {@link decryptStream}: a whole file from a `ReadableStream`, in constant memory;
 *   plaintext is released chunk by chunk, only after its chunk authenticated.
 * - {@link encrypt} / {@link decrypt}, and the passphrase forms, for small files.
 *
 * Every way decryption can fail (wrong key, damaged, truncated, altered) is the same
 * {@link DecryptionFailed}: no caller can become an oracle. Its `detail` says why, locally.
 */

import { dearmor, encodeHeader, headerMac, headerWithoutMac, isArmored } from "./age-format.js";
import { failOpaquely, openWhole } from "./age-open.js";
import {
  FILE_KEY_SIZE,
  type Recipient,
  ScryptIdentity,
  type ScryptOptions,
  type Unwrapper,
  scryptStanza,
} from "./age-recipients.js";
import { SealPlan } from "./age-seal.js";
import { NONCE_SIZE } from "./age-stream.js";
import { concat, randomBytes } from "./bytes.js";
import { InvalidInput } from "./errors.js";

export { Stanza, armor, dearmor, headerMac } from "./age-format.js";
export { AgeReader, MAX_HEADER, decryptStream, prefixLength } from "./age-open.js";
export { HybridIdentity, Identity, Recipient, ScryptIdentity } from "./age-recipients.js";
export type { ScryptOptions, Unwrapper } from "./age-recipients.js";
export { type ChunkSpan, SealPlan } from "./age-seal.js";
export { CHUNK, NONCE_SIZE, SEALED_CHUNK, TAG, chunkCount, sealedSize } from "./age-stream.js";
export { DecryptionFailed } from "./errors.js";

const MIN_WORK_FACTOR = 10;
const MAX_WORK_FACTOR = 22;

/** A binary age file of `plaintext` that any of `recipients` can open. For small data. */
export function encrypt(plaintext: Uint8Array, recipients: readonly Recipient[]): Uint8Array {
  const plan = SealPlan.create(recipients);
  const span = plan.ciphertextRange(0, plan.ciphertextSize(plaintext.length), plaintext.length);
  return plan.encryptRange(span, plaintext, plaintext.length);
}

/** The plaintext of a binary or ASCII-armored age file; all or nothing. */
export async function decrypt(ciphertext: Uint8Array, identities: readonly Unwrapper[]): Promise<Uint8Array> {
  return failOpaquely(async () => {
    const binary = isArmored(ciphertext) ? dearmor(ciphertext) : ciphertext;
    const parts: Uint8Array[] = [];
    await openWhole(binary, identities, (p) => parts.push(p));
    return concat(...parts);
  });
}

function checkPassphrase(passphrase: string): void {
  if (!passphrase) throw new InvalidInput("the passphrase is empty", "choose a long passphrase");
}

/** An age file with one scrypt stanza, so `age -d` opens it with the passphrase. */
export async function encryptWithPassphrase(
  plaintext: Uint8Array,
  passphrase: string,
  options: ScryptOptions & { workFactor?: number } = {},
): Promise<Uint8Array> {
  checkPassphrase(passphrase);
  const workFactor = options.workFactor ?? 18;
  if (!Number.isInteger(workFactor) || workFactor < MIN_WORK_FACTOR || workFactor > MAX_WORK_FACTOR) {
    throw new InvalidInput(`the scrypt work factor must be ${MIN_WORK_FACTOR}..${MAX_WORK_FACTOR}`);
  }
  const fileKey = randomBytes(FILE_KEY_SIZE);
  const authenticated = headerWithoutMac([await scryptStanza(fileKey, passphrase, workFactor, options)]);
  const header = encodeHeader(authenticated, headerMac(fileKey, authenticated));
  const plan = SealPlan.fromParts(fileKey, header, randomBytes(NONCE_SIZE));
  const span = plan.ciphertextRange(0, plan.ciphertextSize(plaintext.length), plaintext.length);
  return plan.encryptRange(span, plaintext, plaintext.length);
}

/** The plaintext of an age file encrypted with a passphrase (scrypt stanza). */
export async function decryptWithPassphrase(
  ciphertext: Uint8Array,
  passphrase: string,
  options: ScryptOptions & { maxWorkFactor?: number } = {},
): Promise<Uint8Array> {
  checkPassphrase(passphrase);
  const identity = new ScryptIdentity(passphrase, options.maxWorkFactor ?? MAX_WORK_FACTOR, options);
  return decrypt(ciphertext, [identity]);
}

