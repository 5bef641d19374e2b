/**
 * Verifying what the server says about the custody ledger: RFC 9162 proofs, C2SP signed
 * notes and checkpoints, ledger entries, and the client's trust rules. No I/O.
 */

export { EMPTY_ROOT, HASH_SIZE, leafHash, nodeHash, verifyConsistency, verifyInclusion } from "./merkle.js";
export { ALG_ED25519, MAX_SIGNATURES, type Note, type NoteSignature, Verifier, isValidName, keyId, openNote } from "./note.js";
export { type Checkpoint, checkpointText, openCheckpoint, parseCheckpoint } from "./checkpoint.js";
export { type Entry, MAX_ENTRY_SIZE, type PrevRef, entryToJson, parseEntry } from "./entry.js";
export {
  type ConsistencyAnswer,
  type ProvenEntry,
  type Remembered,
  acceptCheckpoint,
  checkIndex,
  checkKeyLogged,
  checkRecoveryKeyLogged,
  checkServerNames,
  consistencyNeeded,
  expectedLogKey,
  parseLogKey,
  provenEntryFromJson,
  rememberedFromJson,
  rememberedToJson,
  verifyProvenEntry,
} from "./trust.js";
