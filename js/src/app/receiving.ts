/**
 * Receiving in the browser, as `custody receive` does it (`client/receiving.py`), up to the
 * content: the same order of checks, the same messages, the same receipts.
 *
 * 1. the ids the server sent are UUIDs as custody makes them (they name URLs);
 * 2. the server names the sender's signing key, and the ledger shows the sender registered
 *    it (proven against the pinned log key);
 * 3. per item: the wrap opens with the person's key; the sealed manifest decrypts with the
 *    item key, carries the sender's signature, and names this item, transfer, case and
 *    sender, the sealed manifest's hash and the ciphertext's size. A failure is reported
 *    (a receipt with `verified: false` and `manifest: <why>`) and shown in the CLI's words.
 *
 * The content itself is checked by the service worker as it streams (`receive-stream.ts`).
 */

import { Identity, decrypt } from "../age.js";
import { fromBase64Strict } from "../bytes.js";
import { CustodyError, IntegrityError } from "../errors.js";
import { sha256Hex } from "../hash.js";
import { unwrap } from "../items.js";
import type { UserKeys } from "../keys.js";
import { type Manifest, SignedManifest } from "../manifest.js";
import type { Verifier } from "../note.js";
import { VerifyKey } from "../signing.js";
import type { Api } from "./api.js";
import { checkSigner } from "./logtrust.js";

export interface PartyOut {
  readonly user_id: string;
  readonly email: string;
}

export interface ItemOut {
  readonly id: string;
  readonly position: number;
  readonly state: string;
  readonly ciphertext_size: number;
  readonly ciphertext_sha256: string | null;
  readonly manifest_sha256: string | null;
  readonly sealed_manifest: string | null;
  readonly wrap: string | null;
}

export interface TransferOut {
  readonly id: string;
  readonly case: string;
  readonly state: string;
  readonly sender: PartyOut;
  readonly sender_signing_key: string | null;
  readonly sender_key_index: number | null;
  readonly items: readonly ItemOut[];
}

/** An item whose signed manifest verified: what the person may now save or play. */
export interface Opened {
  readonly item: ItemOut;
  readonly itemKey: Identity;
  readonly manifest: Manifest;
}

/** An item did not match what its sender signed; nothing of it was released. */
export class VerificationFailed extends IntegrityError {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SHA256 = /^[0-9a-f]{64}$/;
const DISTRUST = "do not trust this server's answers; report it to your security team";
/** Transfer states in which items are sealed and may be received. */
export const RECEIVABLE = new Set(["sent", "delivered", "acknowledged"]);

/** `value` if it is a UUID as custody makes them (`client/ids.py`'s `server_id`). */
export function serverId(value: unknown, what: string): string {
  if (typeof value !== "string" || !UUID.test(value)) {
    throw new IntegrityError(`the server sent a malformed ${what}: '${String(value).slice(0, 60)}'`, DISTRUST);
  }
  return value;
}

function malformed(what: string): never {
  throw new IntegrityError(`the server's answer is malformed (${what})`, DISTRUST);
}

function text(value: unknown, what: string): string {
  return typeof value === "string" ? value : malformed(what);
}

function textOrNull(value: unknown, what: string, pattern?: RegExp): string | null {
  if (value === null) return null;
  if (typeof value !== "string" || (pattern !== undefined && !pattern.test(value))) malformed(what);
  return value;
}

function count(value: unknown, what: string): number {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : malformed(what);
}

/** A transfer as the API answers it (`TransferOut`), checked as the CLI's model checks it. */
export function transferOf(json: unknown): TransferOut {
  if (typeof json !== "object" || json === null) malformed("not an object");
  const t = json as Record<string, unknown>;
  const sender = (t["sender"] ?? malformed("sender")) as Record<string, unknown>;
  if (!Array.isArray(t["items"])) malformed("items");
  const items = (t["items"] as unknown[]).map((raw): ItemOut => {
    const i = (raw ?? malformed("item")) as Record<string, unknown>;
    return {
      id: text(i["id"], "item id"),
      position: count(i["position"], "item position"),
      state: text(i["state"], "item state"),
      ciphertext_size: count(i["ciphertext_size"], "ciphertext size"),
      ciphertext_sha256: textOrNull(i["ciphertext_sha256"], "ciphertext hash", SHA256),
      manifest_sha256: textOrNull(i["manifest_sha256"], "manifest hash", SHA256),
      sealed_manifest: textOrNull(i["sealed_manifest"], "sealed manifest"),
      wrap: textOrNull(i["wrap"], "wrap"),
    };
  });
  const index = t["sender_key_index"];
  return {
    id: text(t["id"], "transfer id"),
    case: text(t["case"], "case"),
    state: text(t["state"], "state"),
    sender: { user_id: text(sender["user_id"], "sender"), email: text(sender["email"], "sender") },
    sender_signing_key: textOrNull(t["sender_signing_key"], "sender's signing key"),
    sender_key_index: index === null ? null : count(index, "sender's key index"),
    items,
  };
}

/** Ids checked, the sender's signing key proven in the ledger: the key to verify with. */
export async function senderKeyOf(api: Api, verifier: Verifier, transfer: TransferOut): Promise<VerifyKey> {
  // Ids name URLs below: refuse anything but the UUIDs custody makes.
  serverId(transfer.id, "transfer id");
  for (const item of transfer.items) serverId(item.id, "item id");
  if (!transfer.sender_signing_key) {
    throw new IntegrityError("the server gave no signing key for the sender", "report this to your admin");
  }
  // The sender's signing key counts only if the ledger shows the sender registered it.
  await checkSigner(api, verifier, transfer.sender_key_index, transfer.sender.user_id, transfer.sender_signing_key);
  return VerifyKey.fromBase64(transfer.sender_signing_key);
}

/** The server's record of a sealed item, which the signed manifest must name exactly. */
interface Sealed {
  readonly item: string;
  readonly transfer: string;
  readonly sender: string;
  readonly manifestSha256: string | null;
  readonly ciphertextSize: number;
  readonly case: string;
}

/** `crypto/manifest.py`'s `open_sealed`: the same checks, in the same words. */
export function openSealed(envelope: Uint8Array, key: VerifyKey, sealed: Sealed): Manifest {
  const signed = SignedManifest.fromBytes(envelope);
  const manifest = signed.verify(key);
  const manifestSha256 = sha256Hex(signed.manifestBytes);
  const problems = (
    [
      ["item id", manifest.item === sealed.item],
      ["transfer id", manifest.transfer === sealed.transfer],
      ["case", manifest.case === sealed.case],
      ["sender", manifest.sender === sealed.sender],
      ["manifest hash", manifestSha256 === sealed.manifestSha256],
      ["ciphertext size", manifest.ciphertext_size === sealed.ciphertextSize],
    ] as const
  )
    .filter(([, ok]) => !ok)
    .map(([what]) => what);
  if (problems.length > 0) {
    throw new IntegrityError(`the signed manifest does not match: ${problems.join(", ")}`);
  }
  return manifest;
}

function blob(value: string, what: string): Uint8Array {
  try {
    return fromBase64Strict(value);
  } catch {
    throw new IntegrityError(`the server sent ${what} that is not base64`);
  }
}

/**
 * Open `item`'s wrap and signed manifest (`_open_manifest`). A failure is reported to the
 * server and raised as {@link VerificationFailed} naming the item.
 */
export async function openItem(
  api: Api,
  keys: UserKeys,
  transfer: TransferOut,
  item: ItemOut,
  senderKey: VerifyKey,
): Promise<Opened> {
  if (item.wrap === null) throw new CustodyError(`you hold no key for item ${item.id}`);
  try {
    if (item.sealed_manifest === null) {
      throw new IntegrityError("the server gave no key wrap or no sealed manifest");
    }
    const itemKey = await unwrap(blob(item.wrap, "a key wrap"), keys.identity);
    const envelope = await decrypt(blob(item.sealed_manifest, "a sealed manifest"), [itemKey]);
    const manifest = openSealed(envelope, senderKey, {
      item: item.id,
      transfer: transfer.id,
      sender: transfer.sender.user_id,
      manifestSha256: item.manifest_sha256,
      ciphertextSize: item.ciphertext_size,
      case: transfer.case,
    });
    return { item, itemKey, manifest };
  } catch (error) {
    const why = error instanceof CustodyError ? error.message : String(error);
    await report(api, item, false, `manifest: ${why}`);
    throw new VerificationFailed(
      `item ${item.id} failed verification: ${why}`,
      "nothing was written; tell the sender and your admin",
    );
  }
}

/** What this client's verification found, recorded by the server either way. A failure to
 * record a failure is swallowed: the local refusal is what the person must see. */
export async function report(api: Api, item: ItemOut, verified: boolean, reason?: string): Promise<void> {
  const body = {
    manifest_sha256: item.manifest_sha256 ?? "0".repeat(64),
    verified,
    reason: reason === undefined ? null : reason.slice(0, 500),
  };
  if (verified) {
    await api.post(`/api/v1/items/${item.id}/receipt`, body);
    return;
  }
  await api.post(`/api/v1/items/${item.id}/receipt`, body).catch(() => undefined);
}

/** A name for a byte count, as a person reads it. */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}
