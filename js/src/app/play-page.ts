/**
 * The player (`/play/{item}`): an item's video or audio, decrypted in this browser as it
 * plays, never saved, every viewing in the ledger.
 *
 * Before anything plays: keys unlocked here, the sender's signing key proven in the ledger,
 * the wrap opened and the signed manifest verified as `custody receive` verifies it
 * (`receiving.ts`, failures reported and shown in the CLI's words). Then a viewing starts
 * (one `item:viewed` ledger entry) and the service worker answers the `<video>`'s byte
 * ranges from the viewing's ciphertext (`play-ranges.ts`): seeking fetches only what it
 * needs, and a revocation stops the player at its next range. Over the picture, the
 * viewer's e-mail address and the time, updated every second.
 */

import { CustodyError, IntegrityError, InvalidInput } from "../errors.js";
import { Api } from "./api.js";
import { recall } from "./keystore.js";
import { requirePin } from "./logtrust.js";
import { mediaTypeOf } from "./media.js";
import { csrfToken, element, pageData, person, say, serverLogKey } from "./page.js";
import { openItem, senderKeyOf, serverId, transferOf } from "./receiving.js";
import { keepAlive, newToken, place, serviceWorker } from "./sw-link.js";
import type { Notice, PlayOrder, Report } from "./sw-protocol.js";

interface PageData {
  readonly item: string;
}

interface ViewOut {
  readonly view: string;
  readonly item: string;
  readonly ciphertext_size: number;
  readonly ledger_index: number;
}

const api = new Api(csrfToken());
const me = person();
const data = pageData<PageData>();

function fail(error: unknown): void {
  const box = element("play-error");
  box.textContent = error instanceof CustodyError ? error.diagnostics() : String(error);
  box.hidden = false;
  say("play-state", "");
}

/** UTC, to the second: what a screen recording of this page will show. */
function now(): string {
  return `${new Date().toISOString().slice(0, 19).replace("T", " ")} UTC`;
}

/** The overlay over the picture: styled through the CSSOM (the CSP allows no inline style). */
function watermark(): void {
  const player = element("player");
  const mark = element("watermark");
  Object.assign(player.style, { position: "relative", display: "inline-block", maxWidth: "100%" });
  Object.assign(element("video").style, { display: "block", maxWidth: "100%", background: "#000" });
  Object.assign(mark.style, {
    position: "absolute",
    top: "0.6rem",
    left: "0.6rem",
    right: "0.6rem",
    padding: "0.2rem 0.5rem",
    color: "#fff",
    background: "rgba(0, 0, 0, 0.45)",
    font: "600 15px/1.4 system-ui, sans-serif",
    pointerEvents: "none",
    userSelect: "none",
  });
  const tick = () => {
    mark.textContent = `Viewed by ${me.email} · ${now()}`;
  };
  tick();
  setInterval(tick, 1000);
}

async function start(): Promise<void> {
  const keys = await recall(me.userId);
  if (keys === null) {
    element("play-keys").hidden = false;
    say("play-state", "");
    return;
  }
  say("play-state", "Checking the sender's key in the ledger and the item's signed manifest…");
  const verifier = requirePin(serverLogKey());
  const transfer = transferOf(await api.get(`/api/v1/items/${serverId(data.item, "item id")}`));
  const senderKey = await senderKeyOf(api, verifier, transfer);
  const item = transfer.items.find((i) => i.id === data.item);
  if (item === undefined) throw new IntegrityError(`the server did not send item ${data.item}`);
  const { itemKey, manifest } = await openItem(api, keys, transfer, item, senderKey);
  element("play-title").textContent = manifest.file_name;
  const mediaType = mediaTypeOf(manifest.file_name);
  if (mediaType === null) {
    throw new InvalidInput(`${manifest.file_name} is not audio or video this page plays`, "save it from the transfer's page");
  }

  say("play-state", "Signature verified. Starting the viewing…");
  const view = await api.post<ViewOut>(`/api/v1/items/${item.id}/views`);
  serverId(view.view, "viewing id");
  if (view.item !== item.id || view.ciphertext_size !== manifest.ciphertext_size) {
    throw new IntegrityError("the ciphertext is not the size the sender signed");
  }
  const worker = await serviceWorker();
  const order: PlayOrder = {
    kind: "play",
    token: newToken(),
    item: item.id,
    itemKey: itemKey.toString(),
    view: view.view,
    size: manifest.size,
    ciphertextSize: manifest.ciphertext_size,
    mediaType,
    manifestSha256: item.manifest_sha256 ?? "",
    csrf: csrfToken(),
  };
  const video = element<HTMLVideoElement>("video");
  let stopped = false;
  const onReport = (report: Report): void => {
    if (report.kind === "failed" && !stopped) {
      stopped = true;
      video.pause();
      fail(new CustodyError(report.message, report.hint ?? undefined));
    }
  };
  const url = await place(worker, order, onReport);
  // Re-sending the order keeps the worker alive, and restores it if the browser restarted it.
  keepAlive(worker, () => {
    place(worker, order, onReport).catch(() => undefined);
  });
  addEventListener("pagehide", () => worker.postMessage({ kind: "end", token: order.token } satisfies Notice));

  watermark();
  video.addEventListener("contextmenu", (event) => event.preventDefault());
  video.addEventListener("error", () => {
    if (!stopped) fail(new CustodyError("the player stopped: the content could not be played", "reload the page to try again"));
  });
  const full = element<HTMLButtonElement>("full-screen");
  full.hidden = false;
  // The picture goes full screen with its overlay, never without it.
  full.addEventListener("click", () => {
    element("player").requestFullscreen().catch(fail);
  });
  element("player").hidden = false;
  video.src = url;
  say(
    "play-state",
    `Playing ${manifest.file_name}, decrypted in this browser. This viewing is ledger entry ${view.ledger_index}.`,
  );
}

start().catch(fail);
