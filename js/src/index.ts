/**
 * custody's browser library: the same guarantees as the CLI, end to end, in the browser.
 *
 * - age v1 with random access (`SealPlan`, `AgeReader`, `decryptStream`), item-key wraps;
 * - the user's key file (`UserKeys`), signing keys;
 * - the signed manifest (`Manifest`, `SignedManifest`, `safeFileName`);
 * - the custody ledger: proofs, signed notes, checkpoints, entries, trust rules;
 * - incremental SHA-256.
 */

export * from "./errors.js";
export * from "./age.js";
export { newItemKey, unwrap, wrap } from "./items.js";
export { DEFAULT_WORK_FACTOR, MAX_WORK_FACTOR, UserKeys } from "./keys.js";
export { SigningKey, VerifyKey } from "./signing.js";
export { Manifest, type ManifestFields, SIGNATURE_CONTEXT, SignedManifest, safeFileName } from "./manifest.js";
export * from "./ledger.js";
export { Sha256, hashingStream, sha256, sha256Hex } from "./hash.js";
export { canonicalJson, parseJson, type Json, type JsonObject } from "./json.js";
export { fromBase64Lenient, fromBase64Strict, fromHex, toBase64, toHex } from "./bytes.js";
export { type PlaintextSource, SealedSource, blobSource, sealedFileReader } from "./upload.js";
