/**
 * Sharing onward, as `custody share` does it (`client/sharing.py`), in the holder's browser:
 *
 * 1. the holder's own wrap of the item (`GET /api/v1/items/{id}`), opened with their
 *    unlocked key: the item key, which the server never sees;
 * 2. whom to wrap for (`GET /api/v1/items/{id}/share-target`): the reader's registered age
 *    key and the ledger entry registering it;
 * 3. that registration proven in the ledger against the pinned log key (`checkReader`, the
 *    send page's check): a key the ledger does not show is refused with the CLI's words,
 *    and nothing is wrapped or sent;
 * 4. the item key wrapped for that key (an age X25519 recipient, `items.wrap`) and only
 *    the wrap posted (`POST /api/v1/items/{id}/shares`), with the expiry.
 */

import { Recipient } from "../age.js";
import { fromBase64Lenient, toBase64 } from "../bytes.js";
import { DecryptionFailed, IntegrityError } from "../errors.js";
import { unwrap, wrap } from "../items.js";
import type { UserKeys } from "../keys.js";
import type { Verifier } from "../note.js";
import { ApiError } from "./api.js";
import { type Reader, checkReader } from "./logtrust.js";
import { serverId } from "./receiving.js";

/** What sharing needs of the JSON API (the page's `Api`; a stand-in in the Node tests). */
export interface ShareApi {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
}

/** Whom to wrap for, as the server names them (`ShareTargetOut`). */
export interface ShareTarget {
  readonly user_id: string;
  readonly email: string;
  readonly recipient: string;
  readonly key_index: number | null;
}

/** The share made (`ShareOut`). */
export interface Shared {
  readonly item: string;
  readonly reader: string;
  readonly expires_at: string | null;
}

/** Proves a reader's key in the ledger, or throws: {@link checkReader}, the send page's. */
export type ReaderCheck = (api: ShareApi, verifier: Verifier, reader: Reader) => Promise<void>;

const DISTRUST = "do not trust this server's answers; report it to your security team";

function targetOf(json: unknown): ShareTarget {
  const t = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const index = t["key_index"];
  if (
    typeof t["email"] !== "string" ||
    typeof t["recipient"] !== "string" ||
    (index !== null && (typeof index !== "number" || !Number.isSafeInteger(index)))
  ) {
    throw new IntegrityError("the server's answer is malformed (share target)", DISTRUST);
  }
  return {
    user_id: serverId(t["user_id"], "user id"),
    email: t["email"],
    recipient: t["recipient"],
    key_index: index as number | null,
  };
}

/** The item key inside the holder's own wrap of `itemId`, as `share_item` opens it. */
export async function holderItemKey(api: ShareApi, keys: UserKeys, itemId: string) {
  const view = await api.get<{ items?: { id?: unknown; wrap?: unknown }[] }>(`/api/v1/items/${itemId}`);
  const mine = (view.items ?? []).find((i) => i.id === itemId)?.wrap;
  if (typeof mine !== "string") {
    throw new ApiError(`you hold no key for item ${itemId}`, "only a holder can share", 403, "forbidden");
  }
  try {
    return await unwrap(fromBase64Lenient(mine), keys.identity);
  } catch (error) {
    if (!(error instanceof DecryptionFailed)) throw error;
    throw new IntegrityError(
      `your key does not open item ${itemId}`,
      "were your keys replaced since you received it? ask the sender to share it",
    );
  }
}

/**
 * Share `itemId` with `email` until `expires` (what the server's `parse_when` takes: `14d`,
 * a date, or the moment the confirmation showed): the steps above. Throws, having posted
 * nothing, if any step fails.
 */
export async function shareItem(
  api: ShareApi,
  verifier: Verifier,
  keys: UserKeys,
  itemId: string,
  email: string,
  expires: string | null,
  check: ReaderCheck = checkReader,
): Promise<Shared> {
  serverId(itemId, "item id");
  const itemKey = await holderItemKey(api, keys, itemId);
  const target = targetOf(
    await api.get(`/api/v1/items/${itemId}/share-target?email=${encodeURIComponent(email)}`),
  );
  // Wrap only for a key the ledger shows its owner registered.
  await check(api, verifier, {
    recipient: target.recipient,
    user_id: target.user_id,
    org_id: null,
    label: target.email,
    key_index: target.key_index,
  });
  const wrapped = wrap(itemKey, Recipient.parse(target.recipient));
  return api.post<Shared>(`/api/v1/items/${itemId}/shares`, {
    email: target.email,
    wrap: toBase64(wrapped),
    key_index: target.key_index,
    expires,
  });
}
