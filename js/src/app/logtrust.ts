/**
 * The browser's side of key transparency (`client/trust.py`, `transparency.py`), on the
 * pure rules of `../trust.ts`:
 *
 * - the log key is pinned once in this browser, as the person's organisation gave it —
 *   never taken from a server answer; a page whose server names another key is refused;
 * - the largest checkpoint verified is remembered (localStorage, per log key), and a new
 *   one is taken only if proven consistent with it;
 * - a reader's key is wrapped for, and a sender's signature accepted, only if a proven
 *   `key:registered` (or `org:recovery_key`) entry names that key.
 */

import { toUtf8Bytes } from "./text.js";
import { IntegrityError } from "../errors.js";
import type { Entry } from "../entry.js";
import type { Checkpoint } from "../checkpoint.js";
import type { Verifier } from "../note.js";
import {
  acceptCheckpoint,
  checkIndex,
  checkKeyLogged,
  checkRecoveryKeyLogged,
  checkServerNames,
  consistencyNeeded,
  openCheckpoint,
  parseLogKey,
  provenEntryFromJson,
  rememberedFromJson,
  rememberedToJson,
  verifyProvenEntry,
  type ConsistencyAnswer,
  type Remembered,
} from "../ledger.js";
import { fromBase64Lenient } from "../bytes.js";
import { type Api, ApiError } from "./api.js";

/** What the checks need of the JSON API: answers to GET. */
export type ApiGet = Pick<Api, "get">;

const PIN = "custody:log-key";

export function pinnedLogKey(): string | null {
  return localStorage.getItem(PIN);
}

/** Pin the key the person was given (their organisation's), once; a different one later is
 * refused unless `replace` (their organisation announced a new key). */
export function pinLogKey(given: string, replace = false): Verifier {
  const verifier = parseLogKey(given);
  const pinned = pinnedLogKey();
  if (pinned !== null && pinned !== verifier.vkey && !replace) {
    throw new IntegrityError(
      "this browser has another log key pinned for this server",
      "replace it only if your organisation announced a new log key",
    );
  }
  localStorage.setItem(PIN, verifier.vkey);
  return verifier;
}

/** The pinned verifier, checked against the key this page's server names. */
export function requirePin(serverNames: string): Verifier {
  const pinned = pinnedLogKey();
  if (pinned === null) {
    throw new IntegrityError(
      "this browser has no log key pinned for this server",
      "open “Your keys” and enter the log key your organisation gave you",
    );
  }
  const verifier = parseLogKey(pinned);
  checkServerNames(location.origin, serverNames, verifier);
  return verifier;
}

function memoryKey(verifier: Verifier): string {
  return `custody:log:${verifier.keyId.toString(16).padStart(8, "0")}`;
}

function remembered(verifier: Verifier): Remembered | null {
  const text = localStorage.getItem(memoryKey(verifier));
  return text === null ? null : rememberedFromJson(text);
}

/** Take in a checkpoint (a signed note) if it extends what this browser verified before. */
export async function accept(api: ApiGet, verifier: Verifier, note: string): Promise<Checkpoint> {
  const bytes = toUtf8Bytes(note);
  const known = remembered(verifier);
  const needed = consistencyNeeded(known, openCheckpoint(bytes, verifier, verifier.name), bytes);
  let consistency: ConsistencyAnswer | null = null;
  if (needed !== null) {
    const path = `/api/v1/ledger/consistency?old=${needed.old}&new=${needed.new}`;
    const older = known !== null && needed.new === known.size && needed.old < known.size;
    try {
      const body = await api.get<{ old: number; new: number; proof: string[] }>(path);
      consistency = { old: body.old, new: body.new, proof: body.proof.map(fromBase64Lenient) };
    } catch (error) {
      // A log rolled back cannot prove an older tree a prefix of ours: refused below.
      const refused = error instanceof ApiError && error.status >= 400 && error.status < 500;
      if (!older || !refused) throw error; // unreachable, or a server error: not evidence
    }
  }
  const { checkpoint, remember } = acceptCheckpoint(verifier, known, bytes, consistency);
  localStorage.setItem(memoryKey(verifier), rememberedToJson(remember));
  return checkpoint;
}

/** Ledger entry `index`, proven included in a checkpoint this browser accepts. */
export async function provenEntry(api: ApiGet, verifier: Verifier, index: unknown, whose: string): Promise<Entry> {
  const at = checkIndex(index, whose);
  const proven = provenEntryFromJson(await api.get(`/api/v1/ledger/entries/${at}`));
  if (proven.checkpoint === null) throw new IntegrityError(`the server's proof of ledger entry ${at} is malformed`);
  const checkpoint = await accept(api, verifier, proven.checkpoint);
  return verifyProvenEntry(proven, at, checkpoint);
}

/** A reader as the server names one when a transfer is drafted (`ReaderOut`). */
export interface Reader {
  readonly recipient: string;
  readonly user_id: string | null;
  readonly org_id: string | null;
  readonly label: string;
  readonly key_index: number | null;
}

/** Throw unless the ledger shows `reader`'s key: a person's registration, or an
 * organisation's recovery key. Nothing is wrapped for a key the log does not show. */
export async function checkReader(api: ApiGet, verifier: Verifier, reader: Reader): Promise<void> {
  if (reader.user_id !== null) {
    const entry = await provenEntry(api, verifier, reader.key_index, `user ${reader.user_id}'s key`);
    checkKeyLogged(entry, reader.key_index as number, {
      userId: reader.user_id,
      ageRecipient: reader.recipient,
    });
  } else if (reader.org_id !== null) {
    const entry = await provenEntry(api, verifier, reader.key_index, `organisation ${reader.org_id}'s key`);
    checkRecoveryKeyLogged(entry, reader.key_index as number, {
      orgId: reader.org_id,
      recipient: reader.recipient,
    });
  } else {
    throw new IntegrityError(
      `the server named a reader that is neither a person nor an organisation (${reader.label.slice(0, 60)})`,
      "do not send through this server; report it to your security team",
    );
  }
}

/** Throw unless the ledger shows `userId` registered `signingKey` at entry `index`. */
export async function checkSigner(
  api: ApiGet,
  verifier: Verifier,
  index: unknown,
  userId: string,
  signingKey: string,
): Promise<void> {
  const entry = await provenEntry(api, verifier, index, `user ${userId}'s key`);
  checkKeyLogged(entry, index as number, { userId, signingKey });
}

/** Throw unless the ledger shows `userId` registered both of these keys at entry `index`. */
export async function checkOwnKeys(
  api: ApiGet,
  verifier: Verifier,
  index: unknown,
  userId: string,
  keys: { ageRecipient: string; signingKey: string },
): Promise<void> {
  const entry = await provenEntry(api, verifier, index, "your keys");
  checkKeyLogged(entry, index as number, { userId, ...keys });
}
