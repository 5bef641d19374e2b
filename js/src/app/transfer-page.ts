/**
 * A transfer's page: receive its items in the browser, with `custody receive`'s guarantees.
 *
 * With the person's keys unlocked here and the sender's signing key proven in the ledger,
 * each item's wrap is opened and its signed manifest verified (`receiving.ts`); failures
 * are reported and shown in the CLI's words. "Save" then has the service worker stream the
 * item to the downloads folder, decrypted and verified as it passes — the browser completes
 * the file only if every hash equals the signed one; "Play" opens the player for audio and
 * video; "Receive all" saves each verified item in turn to the downloads folder, and
 * "Receive all into a folder…" (where the browser has the File System Access API) into a
 * folder the person chooses, recreating the folders the sender signed (`folders.ts`) —
 * the service worker's verified stream written through the browser's own temporary file,
 * which becomes the file only once the stream closed verified.
 */

import { CustodyError } from "../errors.js";
import { safeFileName } from "../manifest.js";
import { Api } from "./api.js";
import { type FileLike, type FolderLike, targetOf } from "./folders.js";
import { recall } from "./keystore.js";
import { requirePin } from "./logtrust.js";
import { mediaTypeOf } from "./media.js";
import { csrfToken, element, pageData, person, say, serverLogKey } from "./page.js";
import { RECEIVABLE, type Opened, openItem, senderKeyOf, sizeText, transferOf } from "./receiving.js";
import { keepAlive, newToken, place, serviceWorker } from "./sw-link.js";
import type { Report } from "./sw-protocol.js";

interface PageData {
  readonly transfer: string;
  readonly state: string;
}

const api = new Api(csrfToken());
const me = person();
const data = pageData<PageData>();

function text(error: unknown): string {
  return error instanceof CustodyError ? error.diagnostics() : String(error);
}

function row(item: string): HTMLTableRowElement {
  const found = document.querySelector<HTMLTableRowElement>(`#items tr[data-item="${CSS.escape(item)}"]`);
  if (found === null) throw new Error(`the page has no row for item ${item}`);
  return found;
}

function cell(item: string, name: string): HTMLElement {
  const found = row(item).querySelector<HTMLElement>(`.${name}`);
  if (found === null) throw new Error(`the row of item ${item} has no .${name}`);
  return found;
}

/** What happened to an item, in its row: `refused` is an alert, read out at once. */
function outcome(item: string, said: string, refused = false): void {
  const box = cell(item, "outcome");
  box.textContent = said;
  box.classList.toggle("refused", refused);
  box.setAttribute("role", refused ? "alert" : "status");
}

function fail(error: unknown): void {
  const box = element("receive-error");
  box.textContent = text(error);
  box.hidden = false;
  say("receive-state", "");
}

let busy = false;

/** Where a verified item goes: the downloads folder, or a folder the person chose. */
type Destination = { readonly kind: "downloads" } | { readonly kind: "folder"; readonly root: FolderLike };
const DOWNLOADS: Destination = { kind: "downloads" };

/** Save one verified item through the service worker; true if it was saved and verified. */
async function save(opened: Opened, to: Destination = DOWNLOADS): Promise<boolean> {
  const { item, itemKey, manifest } = opened;
  const shown = manifest.relativePath;
  let target = null;
  if (to.kind === "folder") {
    try {
      target = await targetOf(to.root, manifest);
    } catch (error) {
      outcome(item.id, text(error), true);
      return false;
    }
    if (target.already) {
      // As custody receive: the signed content is there already; record the receipt.
      const receiptError = await api
        .post(`/api/v1/items/${item.id}/receipt`, {
          manifest_sha256: item.manifest_sha256 ?? "",
          verified: true,
          reason: null,
        })
        .then(
          () => "",
          (error: unknown) => ` (the receipt could not be recorded: ${text(error)})`,
        );
      outcome(item.id, `${shown}: already in ${target.path} and verified${receiptError}`);
      return true;
    }
  }
  const worker = await serviceWorker();
  const token = newToken();
  let settle: (report: Report) => void = () => undefined;
  const finished = new Promise<Report>((resolve) => {
    settle = resolve;
  });
  outcome(item.id, `${shown}: starting…`);
  const onReport = (report: Report): void => {
    if (report.kind === "progress") {
      const percent = Math.floor((100 * report.bytes) / Math.max(manifest.size, 1));
      outcome(item.id, `${shown}: saving, ${percent}% decrypted and checked so far…`);
    } else if (report.kind === "saved" || report.kind === "failed") {
      settle(report);
    }
  };
  const stop = keepAlive(worker);
  try {
    const url = await place(
      worker,
      {
        kind: "save",
        token,
        item: item.id,
        itemKey: itemKey.toString(),
        fileName: safeFileName(manifest.file_name),
        size: manifest.size,
        sha256: manifest.sha256,
        ciphertextSize: manifest.ciphertext_size,
        ciphertextSha256: manifest.ciphertext_sha256,
        manifestSha256: item.manifest_sha256 ?? "",
        csrf: csrfToken(),
      },
      onReport,
    );
    if (target === null) {
      // A same-origin link the service worker answers with the attachment: the page stays.
      const link = document.createElement("a");
      link.href = url;
      link.hidden = true;
      document.body.append(link);
      link.click();
      link.remove();
    } else {
      // The verified stream, written through the browser's temporary file: it becomes the
      // file only when the stream closes, which it does only once every check has passed.
      const failed = await writeInto(url, target.file).then(
        () => null,
        (error: unknown) => error,
      );
      // A stream that failed verification fails the write first; the report says why.
      const report = failed === null ? await finished : await Promise.race([finished, later(REPORT_WAIT_MS)]);
      if (failed !== null || report?.kind !== "saved") await target.discard();
      if (failed !== null && report?.kind !== "failed") {
        outcome(item.id, `${shown}: could not be written to ${target.path}: ${text(failed)}`, true);
        return false;
      }
    }
    const report = await finished;
    if (report.kind === "saved") {
      const recorded =
        report.receiptError === null ? "" : ` (the receipt could not be recorded: ${report.receiptError})`;
      const where = target === null ? "to your downloads" : `in ${target.path}`;
      outcome(item.id, `${shown}: ${manifest.size} bytes, signature and SHA-256 verified; saved ${where}${recorded}`);
      return true;
    }
    if (report.kind === "failed") {
      outcome(item.id, report.hint ? `${report.message}\n  → ${report.hint}` : report.message, true);
    }
    return false;
  } catch (error) {
    if (target !== null && !target.already) await target.discard();
    outcome(item.id, text(error), true);
    return false;
  } finally {
    stop();
  }
}

const REPORT_WAIT_MS = 30_000;

function later(ms: number): Promise<null> {
  return new Promise((resolve) => setTimeout(() => resolve(null), ms));
}

/**
 * Fetch the service worker's verified stream at `url` into `file`. A failure on either side
 * ends both: a stream that errors aborts the write (the temporary file goes), and a write
 * that fails cancels the stream (the service worker stops and reports it).
 */
async function writeInto(url: string, file: FileLike): Promise<void> {
  const writable = await file.createWritable();
  let response: Response;
  try {
    response = await fetch(url, { cache: "no-store" });
    if (response.status !== 200 || response.body === null) {
      throw new Error(`the service worker answered ${response.status}`);
    }
  } catch (error) {
    await writable.abort(error).catch(() => undefined);
    throw error;
  }
  await response.body.pipeTo(writable);
}

/** The folder the person chooses (the File System Access API), or null if they cancel. */
async function chooseFolder(): Promise<FolderLike | null> {
  const picker = (window as { showDirectoryPicker?: (options: object) => Promise<FolderLike> }).showDirectoryPicker;
  if (picker === undefined) return null;
  try {
    return await picker.call(window, { id: "custody-receive", mode: "readwrite" });
  } catch (error) {
    if (error instanceof DOMException && error.name === "AbortError") return null;
    throw error;
  }
}

/**
 * One save at a time. While one runs every save button is disabled, so that a click on
 * another is refused where it can be seen (it used to be dropped unseen, and a person who
 * clicked the next item as the first one's download finished got nothing); the focus comes
 * back to the control that had it.
 */
function setBusy(on: boolean, focused: Element | null = null): void {
  busy = on;
  for (const button of document.querySelectorAll<HTMLButtonElement>("button.save, #receive-all, #receive-all-folder")) {
    button.disabled = on;
  }
  if (!on && focused instanceof HTMLElement && focused.isConnected && document.activeElement !== focused) {
    focused.focus();
  }
}

function guarded(act: () => Promise<unknown>): () => void {
  return () => {
    if (busy) return;
    const focused = document.activeElement;
    setBusy(true);
    element("receive-error").hidden = true;
    act()
      .catch(fail)
      .finally(() => setBusy(false, focused));
  };
}

function offer(opened: Opened): void {
  const { item, manifest } = opened;
  cell(item.id, "file").textContent = `${manifest.relativePath} (${sizeText(manifest.size)})`;
  const actions = cell(item.id, "actions");
  const saveButton = document.createElement("button");
  saveButton.type = "button";
  saveButton.className = "save";
  saveButton.textContent = "Save";
  saveButton.setAttribute("aria-label", `Save ${manifest.file_name}`);
  saveButton.addEventListener("click", guarded(() => save(opened)));
  actions.append(saveButton);
  if (mediaTypeOf(manifest.file_name) !== null) {
    const play = document.createElement("a");
    play.className = "play";
    play.href = `/play/${item.id}`;
    play.textContent = "Play";
    play.setAttribute("aria-label", `Play ${manifest.file_name}`);
    actions.append(play);
  }
  outcome(item.id, "signature verified");
}

async function start(): Promise<void> {
  if (!RECEIVABLE.has(data.state)) {
    say("receive-state", `This transfer is ${data.state}: its content cannot be received.`);
    return;
  }
  const keys = await recall(me.userId);
  if (keys === null) {
    element("receive-keys").hidden = false;
    say("receive-state", "");
    return;
  }
  say("receive-state", "Checking the sender's key in the ledger and each item's signed manifest…");
  const verifier = requirePin(serverLogKey());
  const transfer = transferOf(await api.get(`/api/v1/transfers/${data.transfer}`));
  const senderKey = await senderKeyOf(api, verifier, transfer);
  const opened: Opened[] = [];
  for (const item of transfer.items) {
    try {
      const one = await openItem(api, keys, transfer, item, senderKey);
      opened.push(one);
      offer(one);
    } catch (error) {
      outcome(item.id, text(error), true);
    }
  }
  say(
    "receive-state",
    `${opened.length} of ${transfer.items.length} item(s) verified against ${transfer.sender.email}'s signature. ` +
      "Save decrypts one to your downloads folder, and completes the file only if it is exactly what was signed.",
  );
  if (opened.length > 0) {
    const all = element<HTMLButtonElement>("receive-all");
    all.hidden = false;
    all.addEventListener(
      "click",
      guarded(async () => {
        let saved = 0;
        for (const one of opened) if (await save(one)) saved++;
        say("receive-state", `Received ${saved} of ${opened.length} item(s), each verified.`);
      }),
    );
    if ("showDirectoryPicker" in window) {
      const into = element<HTMLButtonElement>("receive-all-folder");
      into.hidden = false;
      into.addEventListener(
        "click",
        guarded(async () => {
          const root = await chooseFolder(); // first: the picker needs the click's activation
          if (root === null) {
            say("receive-state", "No folder chosen: nothing was saved.");
            return;
          }
          let saved = 0;
          for (const one of opened) if (await save(one, { kind: "folder", root })) saved++;
          say("receive-state", `Received ${saved} of ${opened.length} item(s) into ${root.name}, each verified.`);
        }),
      );
    }
  }
}

start().catch(fail);
