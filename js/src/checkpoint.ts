/**
 * C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the signed tree head of the log
 * (`ledger/checkpoint.py`): origin line, tree size in decimal, base64 root hash, then
 * optional extension lines; signed as a C2SP signed note whose key name is the origin.
 */

import { fromBase64Strict, toBase64 } from "./bytes.js";
import { CustodyError, IntegrityError, InvalidInput } from "./errors.js";
import { HASH_SIZE } from "./merkle.js";
import { type Verifier, openNote } from "./note.js";

export interface Checkpoint {
  readonly origin: string;
  /** Tree size; at most 2^53 − 1 here (Python's has no bound, no log will reach it). */
  readonly size: number;
  readonly rootHash: Uint8Array;
  readonly extensions: readonly string[];
}

export function checkpointText(cp: Checkpoint): string {
  return [cp.origin, String(cp.size), toBase64(cp.rootHash), ...cp.extensions].map((l) => l + "\n").join("");
}

/** Strictly parse a checkpoint body; {@link InvalidInput} on anything else. */
export function parseCheckpoint(text: string): Checkpoint {
  if (!text.endsWith("\n")) throw new InvalidInput("a checkpoint ends with a newline");
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) throw new InvalidInput("a checkpoint has an origin, a size and a root hash line");
  const [origin = "", sizeText = "", rootText = "", ...extensions] = lines;
  // tlog-checkpoint: ASCII decimal, no leading zeroes (unless 0).
  if (!/^[0-9]+$/.test(sizeText) || (sizeText !== "0" && sizeText.startsWith("0"))) {
    throw new InvalidInput(`checkpoint size '${sizeText}' is not a canonical decimal`);
  }
  let rootHash: Uint8Array;
  try {
    rootHash = fromBase64Strict(rootText);
  } catch {
    throw new InvalidInput("checkpoint root hash is not base64");
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) throw new InvalidInput(`checkpoint size ${sizeText} is too large`);
  if (!origin) throw new InvalidInput("a checkpoint origin is one non-empty line");
  if (rootHash.length !== HASH_SIZE) throw new InvalidInput(`a checkpoint root hash is ${HASH_SIZE} bytes`);
  if (extensions.some((e) => !e)) throw new InvalidInput("a checkpoint extension is one non-empty line");
  return { origin, size, rootHash, extensions };
}

/** Verify the log's signature and parse the checkpoint; it must be for `origin`. */
export function openCheckpoint(
  note: Uint8Array,
  verifier: Verifier | readonly Verifier[],
  origin: string,
): Checkpoint {
  const verifiers = Array.isArray(verifier) ? (verifier as readonly Verifier[]) : [verifier as Verifier];
  const opened = openNote(note, verifiers);
  let cp: Checkpoint;
  try {
    cp = parseCheckpoint(opened.text);
  } catch (error) {
    if (error instanceof CustodyError) throw new IntegrityError(`signed checkpoint is malformed: ${error.message}`);
    throw error;
  }
  if (cp.origin !== origin) throw new IntegrityError(`checkpoint is for log '${cp.origin}', not '${origin}'`);
  return cp;
}
