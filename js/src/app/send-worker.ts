/**
 * Sending, off the page's thread: what `custody send` does (`client/sending.py`), step by
 * step, with the same guarantees.
 *
 * 1. The person's keys, unlocked in this browser (`keystore`); else nothing happens.
 * 2. The transfer: resumed from this browser's record of the same send, or drafted now
 *    (`POST /api/v1/transfers`). A send already made is reported, never silently repeated.
 * 3. Every reader the server names is proven in the ledger against the pinned log key
 *    (`checkReader`) before anything is created or wrapped; one that is not refuses the
 *    whole send: nothing is sealed, nothing wrapped for anybody.
 * 4. Per file: a fresh item key and seal plan (kept only age-encrypted to the sender), the
 *    item, the upload (`send-upload.ts`), the signed manifest, sealed to the item key, and a
 *    wrap of the item key for each reader.
 * 5. Subjects, then send.
 *
 * A worker has no localStorage, where the page keeps the pinned log key and the largest
 * checkpoint verified (`logtrust.ts`): the page hands over its copy, and each change is sent
 * back to the page to keep.
 */

import { Identity, Recipient, SealPlan, decrypt, encrypt } from "../age.js";
import { fromBase64Strict, fromUtf8, toBase64, utf8 } from "../bytes.js";
import { CustodyError, IntegrityError, InvalidInput, LocalError } from "../errors.js";
import { sha256Hex } from "../hash.js";
import { newItemKey, wrap } from "../items.js";
import type { UserKeys } from "../keys.js";
import { Manifest, SignedManifest, safeFileName } from "../manifest.js";
import { Api, ApiError } from "./api.js";
import { recall } from "./keystore.js";
import { type Reader, checkReader, requirePin } from "./logtrust.js";
import type { SendReport, StartSend } from "./send-messages.js";
import { type ItemState, type SendRecord, load, save, sendKey } from "./send-state.js";
import { ItemUpload } from "./send-upload.js";

interface Scope {
  postMessage(message: SendReport): void;
  onmessage: ((event: MessageEvent<StartSend>) => void) | null;
}

interface TransferOut {
  readonly id: string;
  readonly case: string;
  readonly state: string;
  readonly readers: Reader[];
  readonly items: unknown[];
  readonly ack_deadline: string | null;
  readonly sent_at: string | null;
}

const scope = self as unknown as Scope;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DISTRUST = "do not trust this server's answers; report it to your security team";
/** Progress is reported at most this often (milliseconds). */
const REPORT_EVERY = 200;

function report(message: SendReport): void {
  scope.postMessage(message);
}

function say(text: string): void {
  report({ type: "status", text });
}

function serverId(value: unknown, what: string): string {
  if (typeof value !== "string" || !UUID.test(value)) {
    throw new IntegrityError(`the server sent a malformed ${what}: '${String(value).slice(0, 60)}'`, DISTRUST);
  }
  return value;
}

/** Stand in for localStorage (which logtrust.ts reads) with the page's copy; changes go back. */
function installTrustMemory(initial: Record<string, string>): void {
  const values = new Map(Object.entries(initial));
  (globalThis as { localStorage?: Pick<Storage, "getItem" | "setItem"> }).localStorage = {
    getItem: (key) => values.get(key) ?? null,
    setItem: (key, value) => {
      values.set(key, value);
      report({ type: "trust", key, value });
    },
  };
}

/** Each file once, by a name a receiver can write (`check_sources`). */
function checkFiles(files: readonly File[]): string[] {
  if (files.length === 0) throw new InvalidInput("choose at least one file");
  const names = files.map((f) => safeFileName(f.name));
  if (new Set(names).size !== names.length) {
    throw new LocalError("two files have the same name", "rename one; a recipient could not tell them apart");
  }
  return names;
}

class Sending {
  readonly api: Api;
  readonly key: string;
  record: SendRecord | null = null;

  constructor(
    readonly job: StartSend,
    readonly keys: UserKeys,
    readonly names: string[],
  ) {
    this.api = new Api(job.csrf);
    this.key = sendKey(location.origin, job.userId, job.urn, job.to, job.files);
  }

  async run(): Promise<void> {
    const transfer = await this.#resumeOrCreate();
    if (transfer === null) return;
    const record = this.record as SendRecord;
    say("Checking each recipient's key in the custody ledger…");
    const verifier = requirePin(this.job.serverLogKey);
    for (const reader of record.readers) await checkReader(this.api, verifier, reader);
    const own = this.keys.identity.recipient;
    for (const [index, file] of this.job.files.entries()) {
      const name = this.names[index] as string;
      let entry = record.items[name];
      if (entry === undefined) {
        entry = await this.#newItem(transfer, file, own);
        record.items[name] = entry;
        await save(this.key, record);
      }
      if (entry.sealed) {
        report({ type: "sealed", index, already: true });
        say(`${name}: already sealed`);
        continue;
      }
      await this.#sendItem(transfer, record, entry, index, file, name);
    }
    if (this.job.subjects.length > 0) {
      // pseudonymous data-subject references, attached to every item
      await this.api.post(`/api/v1/transfers/${transfer.id}/subjects`, { subjects: this.job.subjects });
    }
    say("Sending…");
    const sent = await this.api.post<TransferOut>(`/api/v1/transfers/${transfer.id}/send`);
    await this.#remember(transfer.id, sent.sent_at);
    report({ type: "done", transfer: transfer.id, urn: sent.case, items: sent.items.length, ackDeadline: sent.ack_deadline });
  }

  async #remember(transfer: string, at: string | null): Promise<void> {
    // The items' secrets go; what stays says only that these files were sent, and as what.
    this.record = { transfer, readers: [], items: {}, sent: { transfer, at: at ?? new Date().toISOString() } };
    await save(this.key, this.record);
  }

  /** The transfer of this send: resumed, or drafted now; null if it was sent already. */
  async #resumeOrCreate(): Promise<TransferOut | null> {
    let record = await load(this.key);
    if (record?.sent !== undefined && !this.job.again) {
      report({ type: "already-sent", transfer: record.sent.transfer, at: record.sent.at });
      return null;
    }
    if (record !== null && record.sent === undefined) {
      let found: TransferOut | null = null;
      try {
        found = await this.api.get<TransferOut>(`/api/v1/transfers/${serverId(record.transfer, "transfer id")}`);
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      }
      if (found !== null && found.state === "draft") {
        say(`Resuming transfer ${found.id}`);
        this.record = record;
        // The server checks the wraps against the transfer's readers when sealing.
        return { ...found, readers: record.readers };
      }
      if (found !== null && found.state !== "cancelled" && !this.job.again) {
        // Sent, though this browser never heard the answer.
        await this.#remember(found.id, found.sent_at);
        report({ type: "already-sent", transfer: found.id, at: found.sent_at ?? "" });
        return null;
      }
    }
    await this.#openCase();
    say("Drafting the transfer…");
    const transfer = await this.api.post<TransferOut>("/api/v1/transfers", {
      case: this.job.urn,
      to: this.job.to,
      ack_within: this.job.ackWithin,
    });
    serverId(transfer.id, "transfer id");
    record = { transfer: transfer.id, readers: transfer.readers, items: {} };
    this.record = record;
    await save(this.key, record);
    return transfer;
  }

  /** Open the case if it is not open yet; already open (409) is fine. */
  async #openCase(): Promise<void> {
    try {
      await this.api.post("/api/v1/cases", { urn: this.job.urn });
      say(`Case ${this.job.urn} opened`);
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 409)) throw error;
    }
  }

  async #newItem(transfer: TransferOut, file: File, own: Recipient): Promise<ItemState> {
    const itemKey = newItemKey();
    const plan = SealPlan.create([itemKey.recipient]);
    const created = await this.api.post<{ id: string }>(`/api/v1/transfers/${transfer.id}/items`, {
      ciphertext_size: plan.ciphertextSize(file.size),
    });
    const secret = JSON.stringify({ item_key: itemKey.toString(), plan: toBase64(plan.toSecretBytes()) });
    return {
      item: serverId(created.id, "item id"),
      secret: toBase64(encrypt(utf8(secret), [own])),
      upload: null,
      sealed: false,
    };
  }

  async #sendItem(
    transfer: TransferOut,
    record: SendRecord,
    entry: ItemState,
    index: number,
    file: File,
    name: string,
  ): Promise<void> {
    const secret = JSON.parse(fromUtf8(await decrypt(fromBase64Strict(entry.secret), [this.keys.identity]))) as {
      item_key: string;
      plan: string;
    };
    const itemKey = Identity.parse(secret.item_key);
    const plan = SealPlan.fromSecretBytes(fromBase64Strict(secret.plan));
    say(`${name}: encrypting and uploading…`);
    let last = 0;
    const ciphertextSize = plan.ciphertextSize(file.size);
    const upload = new ItemUpload(this.api, this.job.csrf, this.job.patchBytes);
    const hashes = await upload.run(entry, file, plan, {
      created: () => save(this.key, record),
      resumed: (offset, length) => report({ type: "resumed", index, offset, length }),
      progress: (uploaded, read) => {
        const now = Date.now();
        if (now - last < REPORT_EVERY) return;
        last = now;
        report({ type: "progress", index, uploaded, read, total: ciphertextSize });
      },
    });
    report({ type: "progress", index, uploaded: ciphertextSize, read: ciphertextSize, total: ciphertextSize });
    const manifest = new Manifest({
      item: entry.item,
      transfer: transfer.id,
      case: transfer.case,
      file_name: name,
      size: file.size,
      sha256: hashes.sha256,
      ciphertext_size: ciphertextSize,
      ciphertext_sha256: hashes.ciphertextSha256,
      item_recipient: itemKey.recipient.toString(),
      sender: this.job.userId,
      signing_key: this.keys.signingPublic,
      created_at: new Date().toISOString().replace(/\.[0-9]+Z$/, "Z"),
    });
    const signed = SignedManifest.sign(manifest, this.keys.signingKey);
    const wraps: Record<string, string> = {};
    for (const reader of record.readers) {
      wraps[reader.recipient] = toBase64(wrap(itemKey, parseRecipient(reader.recipient)));
    }
    await this.api.post(`/api/v1/items/${entry.item}/seal`, {
      sealed_manifest: toBase64(encrypt(signed.toBytes(), [itemKey.recipient])),
      manifest_sha256: sha256Hex(signed.manifestBytes),
      wraps,
    });
    entry.sealed = true;
    await save(this.key, record);
    report({ type: "sealed", index, already: false });
    say(`${name}: sealed and signed (sha256 ${hashes.sha256.slice(0, 12)})`);
  }
}

function parseRecipient(text: string): Recipient {
  try {
    return Recipient.parse(text);
  } catch {
    throw new IntegrityError(`the server named a reader key that is not an age recipient`, DISTRUST);
  }
}

async function start(job: StartSend): Promise<void> {
  installTrustMemory(job.trust);
  const keys = await recall(job.userId);
  if (keys === null) {
    report({
      type: "failed",
      message: "your keys are not unlocked in this browser",
      hint: "open Your keys and unlock them, then choose the files again",
      locked: true,
    });
    return;
  }
  const names = checkFiles(job.files);
  report({
    type: "files",
    files: job.files.map((f, i) => ({ name: names[i] as string, size: f.size })),
  });
  await new Sending(job, keys, names).run();
}

scope.onmessage = (event) => {
  if (event.data.type !== "start") return;
  start(event.data).catch((error: unknown) => {
    const known = error instanceof CustodyError;
    report({
      type: "failed",
      message: known ? error.message : String(error),
      hint: known ? (error.hint ?? null) : null,
      locked: false,
    });
  });
};
