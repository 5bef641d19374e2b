/**
 * Sharing onward (`src/app/sharing.ts`), as `custody share`: against a stand-in for the JSON
 * API over a small in-memory log signed by the pinned key, the item key is wrapped only for
 * a reader key the ledger proves, and nothing is posted otherwise.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import { Identity, decrypt } from "../src/age.js";
import { fromBase64Strict, fromUtf8, latin1, toBase64 } from "../src/bytes.js";
import { DecryptionFailed, IntegrityError, InvalidProof } from "../src/errors.js";
import { newItemKey, unwrap, wrap } from "../src/items.js";
import type { UserKeys } from "../src/keys.js";
import { leafHash } from "../src/merkle.js";
import { type ShareApi, shareItem } from "../src/app/sharing.js";
import { checkpointNote, entryBytes, path_, verifier } from "./memory-log.js";

// logtrust.ts remembers the largest checkpoint verified in localStorage (a page's).
const stored = new Map<string, string>();
(globalThis as { localStorage?: unknown }).localStorage = {
  getItem: (k: string) => stored.get(k) ?? null,
  setItem: (k: string, v: string) => void stored.set(k, v),
  removeItem: (k: string) => void stored.delete(k),
};

const ITEM = "0b0c5a3e-6f0e-4d7c-9d55-1f2a3b4c5d6e";
const READER = "5d4c3b2a-1f0e-4d7c-9d55-6e5d4c3b2a1f";
const EMAIL = "b.okafor@cps.example";

interface World {
  readonly api: ShareApi;
  readonly posted: { path: string; body: Record<string, unknown> }[];
  readonly itemKey: Identity;
  readonly reader: Identity;
  readonly holder: UserKeys;
  target: Record<string, unknown>;
  entries: Uint8Array[];
  holderWrap: string | null;
}

/** A holder of ITEM's key, a reader registered at ledger entry 1, and a server honest until
 * a test makes it otherwise. */
function world(): World {
  stored.clear();
  const holder = Identity.generate();
  const reader = Identity.generate();
  const itemKey = newItemKey();
  const entries = [
    entryBytes("user:created", "system", { user: READER }),
    entryBytes("key:registered", READER, { age_recipient: reader.recipient.toString(), signing_key: "S1" }),
    entryBytes("user:created", "system", { user: "someone else" }),
  ];
  const w: World = {
    posted: [],
    itemKey,
    reader,
    holder: { identity: holder } as unknown as UserKeys,
    target: { user_id: READER, email: EMAIL, recipient: reader.recipient.toString(), key_index: 1 },
    entries,
    holderWrap: toBase64(wrap(itemKey, holder.recipient)),
    api: {
      async get<T>(path: string): Promise<T> {
        const leaves = w.entries.map(leafHash);
        if (path === `/api/v1/items/${ITEM}`) return { items: [{ id: ITEM, wrap: w.holderWrap }] } as T;
        if (path === `/api/v1/items/${ITEM}/share-target?email=${encodeURIComponent(EMAIL)}`) return w.target as T;
        const at = /^\/api\/v1\/ledger\/entries\/(\d+)$/.exec(path);
        if (at) {
          const i = Number(at[1]);
          return {
            index: i,
            entry: toBase64(w.entries[i] as Uint8Array),
            proof: path_(i, leaves).map(toBase64),
            checkpoint: fromUtf8(checkpointNote(leaves)),
          } as T;
        }
        throw new Error(`unexpected GET ${path}`);
      },
      async post<T>(path: string, body?: unknown): Promise<T> {
        w.posted.push({ path, body: body as Record<string, unknown> });
        return { item: ITEM, reader: EMAIL, expires_at: "2026-12-07T16:00:00Z" } as T;
      },
    },
  };
  return w;
}

const share = (w: World, expires: string | null = "7d") => shareItem(w.api, verifier, w.holder, ITEM, EMAIL, expires);

test("the item key is wrapped for the reader's proven key (age X25519) and only the wrap is posted", async () => {
  const w = world();
  const done = await share(w, "2026-12-07T16:00:00+00:00");
  assert.equal(done.reader, EMAIL);
  assert.equal(w.posted.length, 1);
  const { path, body } = w.posted[0] as { path: string; body: Record<string, unknown> };
  assert.equal(path, `/api/v1/items/${ITEM}/shares`);
  assert.deepEqual(Object.keys(body).sort(), ["email", "expires", "key_index", "wrap"]);
  assert.equal(body["email"], EMAIL);
  assert.equal(body["key_index"], 1);
  assert.equal(body["expires"], "2026-12-07T16:00:00+00:00");
  const wrapped = fromBase64Strict(String(body["wrap"]));
  // An age file with one X25519 stanza, for the reader: it opens to the same item key.
  assert.match(latin1(wrapped.subarray(0, 200)), /^age-encryption\.org\/v1\n-> X25519 /);
  assert.equal(latin1(wrapped.subarray(0, 200)).match(/\n-> /g)?.length, 1);
  assert.equal((await unwrap(wrapped, w.reader)).toString(), w.itemKey.toString());
  await assert.rejects(decrypt(wrapped, [Identity.generate()]), DecryptionFailed);
  assert.equal(JSON.stringify(body).includes(w.itemKey.toString()), false);
});

test("a reader key the ledger does not show is refused in the CLI's words, and nothing is posted", async () => {
  const cases: [string, (w: World) => void, RegExp | (new (...a: never[]) => Error)][] = [
    [
      "another key for the reader",
      (w) => (w.target = { ...w.target, recipient: Identity.generate().recipient.toString() }),
      new RegExp(`: the server's key for user ${READER} is not the one the ledger shows at entry 1 \\(encryption key differ\\)$`),
    ],
    ["an entry that registers nothing", (w) => (w.target = { ...w.target, key_index: 0 }), /at entry 0 \(entry type, owner, encryption key differ\)/],
    ["no entry named", (w) => (w.target = { ...w.target, key_index: null }), /the server named no ledger entry for user .*'s key/],
    [
      "another entry's proof",
      (w) => {
        const honest = w.api.get.bind(w.api);
        w.api.get = <T>(path: string): Promise<T> => honest<T>(path.replace(/\/entries\/1$/, "/entries/2"));
      },
      /the server's proof of ledger entry 1 is malformed/,
    ],
    [
      "an entry the proof does not put in the tree",
      (w) => {
        const honest = w.api.get.bind(w.api);
        w.api.get = async <T>(path: string): Promise<T> => {
          const answer = (await honest(path)) as Record<string, unknown>;
          if (path.endsWith("/entries/1")) {
            const forged = entryBytes("key:registered", READER, { age_recipient: String(w.target["recipient"]), signing_key: "S2" });
            return { ...answer, entry: toBase64(forged) } as T;
          }
          return answer as T;
        };
      },
      InvalidProof,
    ],
    ["a malformed user id", (w) => (w.target = { ...w.target, user_id: "../../admin" }), /malformed user id/],
  ];
  for (const [what, spoil, refusal] of cases) {
    const w = world();
    spoil(w);
    await assert.rejects(share(w), refusal as RegExp, what);
    await assert.rejects(share(w), IntegrityError, what);
    assert.deepEqual(w.posted, [], what);
  }
});

test("a holder without a wrap, or whose key does not open it, shares nothing", async () => {
  const none = world();
  none.holderWrap = null;
  await assert.rejects(share(none), /you hold no key for item/);
  assert.deepEqual(none.posted, []);
  const other = world();
  other.holderWrap = toBase64(wrap(other.itemKey, Identity.generate().recipient));
  await assert.rejects(share(other), (error: IntegrityError) =>
    /^your key does not open item /.test(error.message) && /were your keys replaced/.test(error.hint ?? ""));
  assert.deepEqual(other.posted, []);
});
