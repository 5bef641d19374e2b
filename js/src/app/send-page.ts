/**
 * "Send": the form and the progress. The work — keys, encryption, hashing, upload, manifest,
 * wraps — is `send-worker.ts`'s, in a Web Worker so the page stays responsive however large
 * the files; this script only collects what the person chose and shows what the worker says.
 */

import { CustodyError } from "../errors.js";
import { recall } from "./keystore.js";
import { pinnedLogKey } from "./logtrust.js";
import { csrfToken, element, pageData, person, say, serverLogKey } from "./page.js";
import type { SendReport, StartSend } from "./send-messages.js";

interface SendPageData {
  readonly patch_bytes: number;
  readonly worker: string;
}

interface Row {
  readonly bar: HTMLProgressElement;
  readonly text: HTMLElement;
  readonly item: HTMLLIElement;
  uploaded: number;
  total: number;
}

const data = pageData<SendPageData>();
const me = person();
let chosen: File[] = [];
let worker: Worker | null = null;
let rows: Row[] = [];
/** (time, bytes uploaded in all) samples of the last few seconds, for speed and time left */
let samples: [number, number][] = [];
let lastAnnounced = 0;
/** Announce progress to screen readers this often (ms); the bars themselves move more often. */
const ANNOUNCE_EVERY = 10_000;

function show(id: string, visible: boolean): void {
  element(id).hidden = !visible;
}

function size(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "—";
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${s % 60} s`;
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

function fail(message: string, hint: string | null): void {
  const box = element("send-error");
  box.textContent = hint ? `${message}. ${hint[0]?.toUpperCase()}${hint.slice(1)}.` : `${message}.`;
  box.hidden = false;
  box.focus();
}

function listFiles(): void {
  const list = element<HTMLUListElement>("file-list");
  list.replaceChildren(
    ...chosen.map((file) => {
      const li = document.createElement("li");
      li.textContent = `${file.name} (${size(file.size)})`;
      return li;
    }),
  );
}

function add(files: FileList | null): void {
  if (files === null) return;
  const byName = new Map(chosen.map((f) => [f.name, f]));
  for (const file of Array.from(files)) byName.set(file.name, file); // the same name again replaces it
  chosen = [...byName.values()];
  listFiles();
  element("already-sent").hidden = true;
}

function split(text: string): string[] {
  return text
    .split(",")
    .map((part) => part.trim())
    .filter((part) => part !== "");
}

function trustMemory(): Record<string, string> {
  const copy: Record<string, string> = {};
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (key?.startsWith("custody:")) copy[key] = localStorage.getItem(key) ?? "";
  }
  return copy;
}

function progressRows(files: readonly { name: string; size: number }[]): void {
  const list = element<HTMLUListElement>("progress-list");
  rows = files.map((file, index) => {
    const item = document.createElement("li");
    item.id = `progress-${index}`;
    item.dataset["index"] = String(index);
    item.dataset["tenths"] = "0";
    const label = document.createElement("label");
    label.htmlFor = `progress-bar-${index}`;
    label.textContent = `${file.name} (${size(file.size)})`;
    const bar = document.createElement("progress");
    bar.id = `progress-bar-${index}`;
    bar.max = 1;
    bar.value = 0;
    const text = document.createElement("span");
    text.className = "aside";
    item.append(label, bar, " ", text);
    return { bar, text, item, uploaded: 0, total: 0 };
  });
  list.replaceChildren(...rows.map((r) => r.item));
  samples = [];
  lastAnnounced = Date.now();
}

function overall(): void {
  const uploaded = rows.reduce((sum, r) => sum + r.uploaded, 0);
  const total = rows.reduce((sum, r) => sum + r.total, 0);
  const now = Date.now();
  samples.push([now, uploaded]);
  while (samples.length > 2 && now - (samples[0] as [number, number])[0] > 5000) samples.shift();
  const [t0, b0] = samples[0] as [number, number];
  const speed = now > t0 ? ((uploaded - b0) * 1000) / (now - t0) : 0; // bytes per second
  const known = rows.every((r) => r.total > 0);
  const bar = element<HTMLProgressElement>("overall-progress");
  bar.max = Math.max(total, 1);
  bar.value = uploaded;
  const left = known && speed > 0 ? duration((total - uploaded) / speed) : "—";
  const line = `${size(uploaded)} of ${known ? size(total) : "…"} · ${size(speed)}/s · about ${left} left`;
  element("overall-text").textContent = line;
  if (now - lastAnnounced >= ANNOUNCE_EVERY) {
    lastAnnounced = now;
    say("progress-live", `Uploaded ${line}.`);
  }
}

function onReport(message: SendReport): void {
  switch (message.type) {
    case "status":
      say("send-state", message.text);
      break;
    case "files":
      progressRows(message.files);
      break;
    case "progress": {
      const row = rows[message.index];
      if (row === undefined) break;
      row.uploaded = message.uploaded;
      row.total = message.total;
      row.bar.max = message.total;
      row.bar.value = message.uploaded;
      row.item.dataset["tenths"] = String(Math.floor((10 * message.uploaded) / message.total));
      row.item.dataset["uploaded"] = String(message.uploaded);
      const reread = message.read < message.uploaded ? ` · checking what was sent before: ${size(message.read)}` : "";
      row.text.textContent = `${size(message.uploaded)} of ${size(message.total)}${reread}`;
      overall();
      break;
    }
    case "resumed": {
      const row = rows[message.index];
      if (row !== undefined) row.item.dataset["resumedAt"] = String(message.offset);
      say("progress-live", `Resuming ${row?.bar.labels[0]?.textContent ?? "a file"} at ${size(message.offset)} of ${size(message.length)}: the server kept what arrived before.`);
      break;
    }
    case "sealed": {
      const row = rows[message.index];
      if (row !== undefined) {
        row.item.dataset["sealed"] = "true";
        row.text.textContent = message.already ? "sealed before" : "uploaded, signed and sealed";
        if (row.total === 0) row.bar.value = row.bar.max;
      }
      break;
    }
    case "already-sent":
      finish();
      element("already-sent-text").textContent =
        `You sent these files for this case to these recipients before: transfer ${message.transfer}` +
        (message.at ? ` (${message.at.replace("T", " ").slice(0, 16)} UTC)` : "") +
        ". Nothing was sent now.";
      show("already-sent", true);
      say("send-state", "These files were sent before; nothing was sent now.");
      break;
    case "trust":
      if (message.key.startsWith("custody:")) localStorage.setItem(message.key, message.value);
      break;
    case "done": {
      finish();
      show("progress-section", true);
      element("stop-button").hidden = true;
      const due = message.ackDeadline ? `; acknowledgement due ${message.ackDeadline.replace("T", " ").slice(0, 16)} UTC` : "";
      element("done-text").textContent = `Transfer ${message.transfer} for case ${message.urn}: ${message.items} item(s) sent${due}.`;
      element<HTMLAnchorElement>("done-link").href = `/transfers/${message.transfer}`;
      show("done-section", true);
      say("send-state", "Sent.");
      say("progress-live", `Sent: ${message.items} item(s).`);
      chosen = [];
      listFiles();
      break;
    }
    case "failed":
      finish();
      if (message.locked) {
        show("locked-section", true);
        show("send-form", false);
      }
      say("send-state", "Not sent.");
      fail(message.message, message.hint);
      break;
  }
}

function finish(): void {
  worker?.terminate();
  worker = null;
  element<HTMLButtonElement>("send-button").disabled = false;
}

function submit(event: SubmitEvent): void {
  event.preventDefault();
  element("send-error").hidden = true;
  show("done-section", false);
  const urn = element<HTMLInputElement>("case").value.trim();
  const to = split(element<HTMLInputElement>("to").value);
  if (chosen.length === 0) return fail("Choose at least one file", null);
  if (!urn) return fail("Enter the case URN", null);
  if (to.length === 0) return fail("Name at least one recipient", null);
  const again = element<HTMLInputElement>("send-again").checked && !element("already-sent").hidden;
  element("already-sent").hidden = true;
  element<HTMLInputElement>("send-again").checked = false;
  const job: StartSend = {
    type: "start",
    csrf: csrfToken(),
    userId: me.userId,
    serverLogKey: serverLogKey(),
    trust: trustMemory(),
    files: chosen,
    urn,
    to,
    ackWithin: element<HTMLInputElement>("ack-within").value.trim() || null,
    subjects: split(element<HTMLInputElement>("subjects").value),
    again,
    patchBytes: data.patch_bytes,
  };
  element<HTMLButtonElement>("send-button").disabled = true;
  show("progress-section", true);
  element("stop-button").hidden = false;
  progressRows(chosen);
  say("send-state", "Starting…");
  worker = new Worker(data.worker, { type: "module" });
  worker.onmessage = (e: MessageEvent<SendReport>) => onReport(e.data);
  worker.onerror = (e) => {
    finish();
    fail(`The sending worker stopped: ${e.message || "unknown error"}`, "reload the page and choose the same files to resume");
  };
  worker.postMessage(job);
}

function stop(): void {
  finish();
  say("send-state", "Stopped. Choose the same files, case and recipients again to resume where it stopped.");
}

async function start(): Promise<void> {
  const keys = await recall(me.userId);
  if (keys === null) {
    show("locked-section", true);
    say("send-state", "Your keys are not unlocked in this browser.");
    return;
  }
  if (pinnedLogKey() === null) {
    show("locked-section", true);
    say("send-state", "This browser has no log key pinned: open Your keys and enter it first.");
    return;
  }
  show("send-form", true);
  say("send-state", "Your keys are unlocked: choose files, a case and recipients.");
}

const drop = element("drop");
drop.addEventListener("dragover", (e) => {
  e.preventDefault();
  drop.classList.add("over");
});
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  add(e.dataTransfer?.files ?? null);
});
const input = element<HTMLInputElement>("files");
input.addEventListener("change", () => {
  add(input.files);
  input.value = "";
});
element("send-form").addEventListener("submit", submit);
element("stop-button").addEventListener("click", stop);
start().catch((error: unknown) => {
  fail(error instanceof CustodyError ? error.message : String(error), error instanceof CustodyError ? (error.hint ?? null) : null);
});
