/**
 * The person's unlocked keys, kept for the browser session without ever being stored in
 * clear: IndexedDB holds them sealed (AES-GCM) under a non-extractable `CryptoKey` that
 * only this origin's code can use and nobody can read out. "Lock" (or signing out)
 * deletes both. Keys of another person signed in on the same browser are never used.
 */

import { UserKeys } from "../keys.js";

const DB = "custody";
const STORE = "keys";
const AES_KEY = "aes";

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
        const request = act(db.transaction(STORE, mode).objectStore(STORE));
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error ?? new Error("IndexedDB refused"));
      }),
  );
}

async function aesKey(): Promise<CryptoKey> {
  const known = (await run("readonly", (s) => s.get(AES_KEY))) as CryptoKey | undefined;
  if (known) return known;
  const made = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, [
    "encrypt",
    "decrypt",
  ]);
  await run("readwrite", (s) => s.put(made, AES_KEY));
  return made;
}

interface Sealed {
  readonly iv: Uint8Array;
  readonly data: ArrayBuffer;
}

/** Keep `keys` (of `userId`) unlocked for this browser session. */
export async function remember(userId: string, keys: UserKeys): Promise<void> {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const aad = new TextEncoder().encode(userId);
  const data = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: aad },
    await aesKey(),
    keys.toPlaintext() as BufferSource,
  );
  await run("readwrite", (s) => s.put({ iv, data } satisfies Sealed, `user:${userId}`));
}

/** `userId`'s unlocked keys, or null (never unlocked here, locked, or not theirs). */
export async function recall(userId: string): Promise<UserKeys | null> {
  const sealed = (await run("readonly", (s) => s.get(`user:${userId}`))) as Sealed | undefined;
  if (!sealed) return null;
  try {
    const aad = new TextEncoder().encode(userId);
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: sealed.iv as BufferSource, additionalData: aad },
      await aesKey(),
      sealed.data,
    );
    return UserKeys.parse(new Uint8Array(plain));
  } catch {
    return null;
  }
}

/** Lock: forget every unlocked key and the key that sealed them. */
export async function forget(): Promise<void> {
  await run("readwrite", (s) => s.clear());
}
