/**
 * What an unfinished send needs to resume, kept in IndexedDB (`client/sending.py`'s
 * `SendState`, which the CLI keeps in `$CUSTODY_HOME/sending/`): the transfer's id, the
 * readers the server named when it was drafted, and per file its item id, its upload's URL,
 * whether it is sealed, and its item key and seal plan — those two only age-encrypted to
 * the sender's own recipient, never in clear.
 *
 * A send is known by who sends what, where and to whom: this origin, the person, the case,
 * the recipients, and each file's name, size and last-modified time (a browser has no
 * path). Once sent, the record keeps only the transfer's id and time, so choosing the same
 * files again is noticed instead of silently making a duplicate.
 */

import { sha256Hex } from "../hash.js";
import { toUtf8Bytes } from "./text.js";
import type { Reader } from "./logtrust.js";

const DB = "custody-sending";
const STORE = "sends";

export interface ItemState {
  readonly item: string;
  /** base64 of an age file, to the sender's own recipient: {"item_key", "plan"} as the CLI's */
  readonly secret: string;
  upload: string | null;
  sealed: boolean;
}

export interface SendRecord {
  transfer: string;
  readers: Reader[];
  /** by file name (names are unique within a send) */
  items: Record<string, ItemState>;
  /** set once the transfer is sent: its id and when; the items' secrets are gone by then */
  sent?: { transfer: string; at: string };
}

export interface FileIdentity {
  readonly name: string;
  readonly size: number;
  readonly lastModified: number;
}

/** The key a send is kept under: SHA-256 of who sends which files, for what, to whom. */
export function sendKey(
  origin: string,
  userId: string,
  urn: string,
  to: readonly string[],
  files: readonly FileIdentity[],
): string {
  const ident = JSON.stringify([
    origin,
    userId,
    urn,
    [...to].sort(),
    [...files].map((f) => [f.name, f.size, f.lastModified]).sort(),
  ]);
  return sha256Hex(toUtf8Bytes(ident)).slice(0, 32);
}

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error("IndexedDB refused"));
  });
}

function run<T>(mode: IDBTransactionMode, act: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return open().then(
    (db) =>
      new Promise<T>((resolve, reject) => {
        const tx = db.transaction(STORE, mode);
        const request = act(tx.objectStore(STORE));
        // Resolve once the transaction is durable, not merely when the request succeeded:
        // a tab closed right after must find what was saved.
        tx.oncomplete = () => {
          db.close();
          resolve(request.result);
        };
        tx.onerror = () => reject(tx.error ?? new Error("IndexedDB refused"));
        tx.onabort = () => reject(tx.error ?? new Error("IndexedDB aborted"));
      }),
  );
}

export async function load(key: string): Promise<SendRecord | null> {
  const found = (await run("readonly", (s) => s.get(key))) as SendRecord | undefined;
  return found ?? null;
}

export async function save(key: string, record: SendRecord): Promise<void> {
  await run("readwrite", (s) => s.put(record, key));
}

export async function remove(key: string): Promise<void> {
  await run("readwrite", (s) => s.delete(key));
}
