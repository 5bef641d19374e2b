/**
 * What a client trusts about a log, as pure functions (`client/trust.py`, `transparency.py`).
 *
 * - The log's verifier key is pinned once, from the person (never from a server answer).
 * - The client remembers the largest checkpoint it verified, and accepts a new one only if
 *   it is signed by the pinned key and proven consistent with the remembered one; a smaller
 *   tree only if the server proves it a prefix of the remembered one (another tab fetched
 *   the newer first; a log rolled back cannot prove it), and it is not remembered. Another
 *   root at the same size, or a failed or missing proof, is a {@link SplitView}.
 * - A public key counts only if a `key:registered` entry (for a person) or an
 *   `org:recovery_key` entry (for an organisation) names it, proven included in an
 *   accepted checkpoint.
 *
 * No I/O: the caller fetches (the consistency proof only when {@link consistencyNeeded}
 * says so) and stores {@link Remembered}.
 */

import { fromBase64Lenient, fromUtf8, pyStrip, toBase64, utf8 } from "./bytes.js";
import { type Checkpoint, openCheckpoint } from "./checkpoint.js";
import { type Entry, parseEntry } from "./entry.js";
import {
  CustodyError,
  IntegrityError,
  InvalidInput,
  InvalidProof,
  LogKeyMismatch,
  SplitView,
} from "./errors.js";
import { leafHash, verifyConsistency, verifyInclusion } from "./merkle.js";
import { Verifier } from "./note.js";

const REPORT = "do not send or accept material through this server; report it to your security team";
const REPORT_KEYS = "do not send or accept material; report this to your security team";

/** A verifier key (`name+hash+base64`) as typed or read from a file; clear error if not. */
export function parseLogKey(text: string): Verifier {
  const stripped = pyStrip(text);
  try {
    return Verifier.fromVkey(stripped);
  } catch (error) {
    if (!(error instanceof CustodyError)) throw error;
    throw new InvalidInput(
      `'${stripped.slice(0, 80)}' is not a log verifier key: ${error.message}`,
      "copy it exactly as `custody admin init` printed it (name+hash+key)",
    );
  }
}

/**
 * The key a login must find: the pinned one, or (first login, or an explicit `replace`)
 * the one the person gave. Nothing is stored here.
 */
export function expectedLogKey(pinned: string | null, given: string | null, replace = false): Verifier {
  if (given === null) {
    if (replace) throw new InvalidInput("--replace-log-key needs the new key: add --log-key");
    if (pinned === null) {
      throw new InvalidInput(
        "the first login needs the log's verifier key",
        "your organisation's custody administrator has it (`custody admin init` prints it)",
      );
    }
    return parseLogKey(pinned);
  }
  const verifier = parseLogKey(given);
  if (pinned !== null && pinned !== verifier.vkey && !replace) {
    throw new LogKeyMismatch(
      "the log key given differs from the one pinned for this server",
      "if your organisation announced a new log key, replace the pinned one explicitly",
    );
  }
  return verifier;
}

/** The server's own claim about its log key must be the expected one (never adopted). */
export function checkServerNames(server: string, named: string | null, expected: Verifier): void {
  if (named !== expected.vkey) {
    throw new LogKeyMismatch(
      `the server at ${server} names the log key '${named}', not the one pinned on this machine ` +
        `(${expected.vkey}): it, or something between you and it, is not the custody server your ` +
        "organisation runs",
      REPORT,
    );
  }
}

/** The largest checkpoint this client verified (Python's `trust/log-<key id>.json`). */
export interface Remembered {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** The signed note, verbatim. */
  readonly note: Uint8Array;
}

export function rememberedToJson(r: Remembered): string {
  return JSON.stringify(
    { origin: r.origin, size: r.size, root_hash: toBase64(r.rootHash), note: fromUtf8(r.note) },
    null,
    2,
  );
}

export function rememberedFromJson(text: string): Remembered {
  const data = JSON.parse(text) as { origin?: unknown; size?: unknown; root_hash?: unknown; note?: unknown };
  if (
    typeof data.size !== "number" || !Number.isSafeInteger(data.size) ||
    typeof data.root_hash !== "string" || typeof data.note !== "string"
  ) {
    throw new InvalidInput("the remembered checkpoint is damaged");
  }
  return {
    origin: typeof data.origin === "string" ? data.origin : "",
    size: data.size,
    rootHash: fromBase64Lenient(data.root_hash),
    note: utf8(data.note),
  };
}

function refuse(known: Remembered, shown: Uint8Array, why: string): never {
  throw new SplitView(
    `${why}: this server's ledger is not the one everybody sees`,
    `${REPORT}; keep both signed checkpoints (they prove it)`,
    known.note,
    shown,
  );
}

/**
 * Null if `checkpoint` needs no consistency proof (nothing remembered yet, or the same
 * tree); else the sizes to ask `GET /api/v1/ledger/consistency?old=&new=` for: from the
 * remembered tree to a larger one, or from a smaller one to the remembered (proving it a
 * prefix). Throws {@link SplitView} on another root at the same size.
 */
export function consistencyNeeded(
  remembered: Remembered | null,
  checkpoint: Checkpoint,
  note: Uint8Array,
): { old: number; new: number } | null {
  if (remembered === null) return null;
  if (checkpoint.size < remembered.size) return { old: checkpoint.size, new: remembered.size };
  if (checkpoint.size === remembered.size) {
    if (toBase64(checkpoint.rootHash) !== toBase64(remembered.rootHash)) {
      refuse(remembered, note, `the server signed two different trees of size ${checkpoint.size}`);
    }
    return null;
  }
  return { old: remembered.size, new: checkpoint.size };
}

/** A consistency proof as the API answers it (`ConsistencyOut`). */
export interface ConsistencyAnswer {
  readonly old: number;
  readonly new: number;
  readonly proof: readonly Uint8Array[];
}

/**
 * Verify `note` (signature by the pinned key, origin = the key's name) and that it extends
 * what this client saw before. Returns the checkpoint and what to remember from now on.
 */
export function acceptCheckpoint(
  verifier: Verifier,
  remembered: Remembered | null,
  note: Uint8Array,
  consistency: ConsistencyAnswer | null = null,
): { checkpoint: Checkpoint; remember: Remembered } {
  const checkpoint = openCheckpoint(note, verifier, verifier.name);
  const next: Remembered = { origin: checkpoint.origin, size: checkpoint.size, rootHash: checkpoint.rootHash, note };
  const needed = consistencyNeeded(remembered, checkpoint, note);
  if (remembered === null) return { checkpoint, remember: next };
  if (needed === null) return { checkpoint, remember: remembered };
  if (checkpoint.size < remembered.size) {
    // An older tree: taken, not remembered, if the server proves it a prefix of ours.
    let prefix = false;
    if (consistency !== null && consistency.old === needed.old && consistency.new === needed.new) {
      try {
        verifyConsistency(needed.old, needed.new, checkpoint.rootHash, remembered.rootHash, consistency.proof);
        prefix = true;
      } catch (error) {
        if (!(error instanceof InvalidProof)) throw error;
      }
    }
    if (!prefix) {
      refuse(
        remembered,
        note,
        `the server showed a tree of ${checkpoint.size} entries, but this client has already ` +
          `verified one of ${remembered.size} (a rollback, or a view made for you)`,
      );
    }
    return { checkpoint, remember: remembered };
  }
  if (consistency === null || consistency.old !== needed.old || consistency.new !== needed.new) {
    throw new SplitView(
      `the server's consistency proof from ${needed.old} to ${needed.new} entries is malformed`,
      REPORT,
      remembered.note,
      note,
    );
  }
  try {
    verifyConsistency(needed.old, needed.new, remembered.rootHash, checkpoint.rootHash, consistency.proof);
  } catch (error) {
    if (!(error instanceof InvalidProof)) throw error;
    refuse(
      remembered,
      note,
      `the tree of ${checkpoint.size} entries does not extend the tree of ${remembered.size} this ` +
        `client verified before (${error.message})`,
    );
  }
  return { checkpoint, remember: next };
}

/** An entry with its inclusion proof, as the API answers it (`ProvenEntryOut`). */
export interface ProvenEntry {
  readonly index: number;
  readonly entry: Uint8Array;
  readonly proof: readonly Uint8Array[];
  readonly checkpoint: string | null;
}

/** Parse the API's JSON answer (bytes as base64) into a {@link ProvenEntry}. */
export function provenEntryFromJson(body: unknown): ProvenEntry {
  const b = body as { index?: unknown; entry?: unknown; proof?: unknown; checkpoint?: unknown };
  const bad = () => new IntegrityError("the server's proven entry is malformed");
  if (typeof b !== "object" || b === null || typeof b.index !== "number" || typeof b.entry !== "string") throw bad();
  if (!Array.isArray(b.proof) || !b.proof.every((p) => typeof p === "string")) throw bad();
  if (b.checkpoint !== null && b.checkpoint !== undefined && typeof b.checkpoint !== "string") throw bad();
  try {
    return {
      index: b.index,
      entry: fromBase64Lenient(b.entry),
      proof: (b.proof as string[]).map(fromBase64Lenient),
      checkpoint: typeof b.checkpoint === "string" ? b.checkpoint : null,
    };
  } catch {
    throw bad();
  }
}

/**
 * Entry `index`, proven included in `checkpoint` (one the client accepted from
 * `proven.checkpoint`, see {@link acceptCheckpoint}).
 */
export function verifyProvenEntry(proven: ProvenEntry, index: number, checkpoint: Checkpoint): Entry {
  if (proven.index !== index) throw new IntegrityError(`the server's proof of ledger entry ${index} is malformed`);
  verifyInclusion(leafHash(proven.entry), index, checkpoint.size, proven.proof, checkpoint.rootHash);
  try {
    return parseEntry(proven.entry);
  } catch (error) {
    if (error instanceof CustodyError) throw new IntegrityError(`ledger entry ${index} is not a custody entry`);
    throw error;
  }
}

/** A ledger index as the server named it: a non-negative integer, or the refusal. */
export function checkIndex(index: unknown, whose: string): number {
  if (typeof index !== "number" || !Number.isSafeInteger(index) || index < 0) {
    throw new IntegrityError(`the server named no ledger entry for ${whose}`, REPORT_KEYS);
  }
  return index;
}

function refuseUnless(checks: readonly [string, boolean][], whose: string, index: number): void {
  const wrong = checks.filter(([, ok]) => !ok).map(([what]) => what);
  if (wrong.length) {
    throw new IntegrityError(
      `the server's key for ${whose} is not the one the ledger shows at entry ${index} ` +
        `(${wrong.join(", ")} differ)`,
      REPORT_KEYS,
    );
  }
}

/** Throw unless `entry` (proven at `index`) registers these keys for `userId`. */
export function checkKeyLogged(
  entry: Entry,
  index: number,
  expected: { userId: string; ageRecipient?: string; signingKey?: string },
): void {
  refuseUnless(
    [
      ["entry type", entry.type === "key:registered"],
      ["owner", entry.actor === expected.userId],
      ["encryption key", expected.ageRecipient === undefined || entry.data["age_recipient"] === expected.ageRecipient],
      ["signing key", expected.signingKey === undefined || entry.data["signing_key"] === expected.signingKey],
    ],
    `user ${expected.userId}`,
    index,
  );
}

/** Throw unless `entry` (proven at `index`) logs `recipient` as `orgId`'s recovery key. */
export function checkRecoveryKeyLogged(
  entry: Entry,
  index: number,
  expected: { orgId: string; recipient: string },
): void {
  refuseUnless(
    [
      ["entry type", entry.type === "org:recovery_key"],
      ["organisation", entry.data["org"] === expected.orgId],
      ["recovery key", entry.data["recovery_recipient"] === expected.recipient],
    ],
    `organisation ${expected.orgId}'s recovery`,
    index,
  );
}
