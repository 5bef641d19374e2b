/**
 * custody's service worker: where the browser decrypts content it saves or plays, so that
 * plaintext goes only to the person's disk (Save) or their screen (Play), never to the
 * server, and a file is completed only once it verified.
 *
 * Registered by the transfer and player pages (scope `/`, which the server allows with
 * `Service-Worker-Allowed`). It answers only URLs under `/sw/` (`sw-protocol.ts`), each
 * for an order a page handed it over a MessageChannel after verifying the signed manifest;
 * every other request goes to the network untouched. Orders live in this worker's memory
 * only; nothing is cached or stored.
 *
 * - `/sw/save/<token>` (one use): the ciphertext from `/api/v1/items/{id}/content`,
 *   decrypted and verified as it streams (`receive-stream.ts`), as an attachment named by
 *   the manifest; then the receipt (`item:received`, or `item:verification_failed` with the
 *   CLI's reason), and the outcome to the page.
 * - `/sw/play/<token>`: the player's byte ranges (`play-ranges.ts`), for media elements
 *   only (not a "save video as", not a navigation).
 */

import { Identity } from "../age-recipients.js";
import { CustodyError, IntegrityError } from "../errors.js";
import { safeFileName } from "../manifest.js";
import { Api, errorOf } from "./api.js";
import { checkMediaType } from "./media.js";
import { Playback, viewFetcher } from "./play-ranges.js";
import { verifiedDownload } from "./receive-stream.js";
import {
  type Notice,
  type Order,
  type PlayOrder,
  type Report,
  type SaveOrder,
  SW_PREFIX,
  playUrl,
  saveUrl,
} from "./sw-protocol.js";

// The service worker's globals (lib "WebWorker" cannot be combined with "DOM").
interface SwExtendableEvent extends Event {
  waitUntil(work: Promise<unknown>): void;
}
interface SwFetchEvent extends SwExtendableEvent {
  readonly request: Request;
  respondWith(answer: Promise<Response>): void;
}
interface SwMessageEvent extends SwExtendableEvent {
  readonly data: unknown;
  readonly ports: readonly MessagePort[];
  readonly origin: string;
}
interface SwScope {
  readonly location: Location;
  readonly clients: { claim(): Promise<void> };
  skipWaiting(): Promise<void>;
  addEventListener(type: "install" | "activate", listener: (event: SwExtendableEvent) => void): void;
  addEventListener(type: "fetch", listener: (event: SwFetchEvent) => void): void;
  addEventListener(type: "message", listener: (event: SwMessageEvent) => void): void;
}

const sw = self as unknown as SwScope;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TOKEN = /^[0-9a-f]{32}$/;
const PROGRESS_EVERY = 8 * 1024 * 1024;

interface Saving {
  readonly order: SaveOrder;
  readonly port: MessagePort;
}
interface Playing {
  readonly order: PlayOrder;
  port: MessagePort;
  readonly playback: Promise<Playback>;
  reported: boolean;
}

const saves = new Map<string, Saving>();
const plays = new Map<string, Playing>();

sw.addEventListener("install", (event) => event.waitUntil(sw.skipWaiting()));
sw.addEventListener("activate", (event) => event.waitUntil(sw.clients.claim()));

// ── orders ─────────────────────────────────────────────────────────────────────────────

function tell(port: MessagePort, report: Report): void {
  port.postMessage(report);
}

/** An order as a page of ours sends it; anything else is refused before it is kept. */
function checked(data: unknown): Order {
  const o = data as Record<string, unknown>;
  const size = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const hex = (v: unknown) => typeof v === "string" && /^[0-9a-f]{64}$/.test(v);
  const ok =
    typeof o["token"] === "string" &&
    TOKEN.test(o["token"]) &&
    typeof o["item"] === "string" &&
    UUID.test(o["item"]) &&
    typeof o["itemKey"] === "string" &&
    size(o["size"]) &&
    size(o["ciphertextSize"]) &&
    hex(o["manifestSha256"]) &&
    typeof o["csrf"] === "string";
  if (!ok) throw new Error("malformed order");
  Identity.parse(o["itemKey"] as string);
  if (o["kind"] === "save") {
    if (!hex(o["sha256"]) || !hex(o["ciphertextSha256"]) || typeof o["fileName"] !== "string") {
      throw new Error("malformed order");
    }
    safeFileName(o["fileName"]);
    return data as SaveOrder;
  }
  if (typeof o["view"] !== "string" || !UUID.test(o["view"]) || typeof o["mediaType"] !== "string") {
    throw new Error("malformed order");
  }
  checkMediaType(o["mediaType"]);
  return data as PlayOrder;
}

sw.addEventListener("message", (event) => {
  // Only our own pages can message this worker; the origin check is belt and braces.
  if (event.origin !== sw.location.origin) return;
  const notice = event.data as Notice | Order;
  if (notice.kind === "ping") return; // the event itself keeps this worker alive
  if (notice.kind === "claim") return event.waitUntil(sw.clients.claim());
  if (notice.kind === "end") {
    plays.delete(notice.token);
    return;
  }
  const port = event.ports[0];
  if (port === undefined) return;
  let order: Order;
  try {
    order = checked(event.data);
  } catch {
    return; // not from a page of ours
  }
  if (order.kind === "save") {
    saves.set(order.token, { order, port });
    tell(port, { kind: "ready", token: order.token, url: saveUrl(order.token) });
    return;
  }
  const known = plays.get(order.token);
  if (known !== undefined) {
    known.port = port; // a page's keep-alive re-sends its order
    return;
  }
  const playback = Playback.open(Identity.parse(order.itemKey), viewFetcher(order.view, order.ciphertextSize), order);
  const playing: Playing = { order, port, playback, reported: false };
  plays.set(order.token, playing);
  event.waitUntil(
    playback.then(
      () => tell(port, { kind: "ready", token: order.token, url: playUrl(order.token) }),
      (error: unknown) => {
        plays.delete(order.token);
        return playFailed(playing, error);
      },
    ),
  );
});

// ── answers ────────────────────────────────────────────────────────────────────────────

sw.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (url.origin !== sw.location.origin || !url.pathname.startsWith(SW_PREFIX)) return;
  const [kind, token = ""] = url.pathname.slice(SW_PREFIX.length).split("/");
  if (kind === "save") event.respondWith(save(token));
  else if (kind === "play") event.respondWith(play(token, event.request));
  else event.respondWith(Promise.resolve(new Response(null, { status: 404 })));
});

/** A navigation that must not leave the page: the download did not start. */
const STAY = (): Response => new Response(null, { status: 204 });

function failure(error: unknown): { message: string; hint: string | null } {
  if (error instanceof CustodyError) return { message: error.message, hint: error.hint ?? null };
  return { message: error instanceof Error ? error.message : String(error), hint: null };
}

function disposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]|["\\%]/g, "_");
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}

async function save(token: string): Promise<Response> {
  const saving = saves.get(token);
  saves.delete(token); // one download per order
  if (saving === undefined) return STAY();
  const { order, port } = saving;
  const fail = (error: unknown, verification: boolean): void => {
    const { message, hint } = failure(error);
    tell(port, { kind: "failed", token, verification, message, hint });
  };
  let response: Response;
  try {
    response = await fetch(`/api/v1/items/${order.item}/content`, { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw await errorOf(response);
    if (response.body === null) throw new IntegrityError("the server sent no content");
  } catch (error) {
    fail(error, false);
    return STAY();
  }
  let announced = 0;
  const download = await verifiedDownload(response.body, Identity.parse(order.itemKey), order, (bytes) => {
    if (bytes - announced >= PROGRESS_EVERY) {
      announced = bytes;
      tell(port, { kind: "progress", token, bytes });
    }
  });
  void download.verdict.then(async (verdict) => {
    const api = new Api(order.csrf);
    const receipt = (verified: boolean, reason: string | null) =>
      api.post(`/api/v1/items/${order.item}/receipt`, { manifest_sha256: order.manifestSha256, verified, reason });
    if (verdict.ok) {
      const receiptError = await receipt(true, null).then(
        () => null,
        (error: unknown) => failure(error).message,
      );
      tell(port, { kind: "saved", token, receiptError });
      return;
    }
    if (verdict.verification) {
      await receipt(false, verdict.error.message.slice(0, 500)).catch(() => undefined);
      fail(
        new IntegrityError(
          `item ${order.item} (${order.fileName}) failed verification: ${verdict.error.message}`,
          "the download was stopped before it completed; tell the sender and your admin",
        ),
        true,
      );
      return;
    }
    fail(verdict.error, false);
  });
  return new Response(download.stream, {
    status: 200,
    headers: {
      "Content-Type": "application/octet-stream",
      "Content-Disposition": disposition(order.fileName),
      "Content-Length": String(order.size),
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

async function playFailed(playing: Playing, error: unknown): Promise<void> {
  const { order } = playing;
  const verification = error instanceof IntegrityError;
  if (verification && !playing.reported) {
    playing.reported = true;
    await new Api(order.csrf)
      .post(`/api/v1/items/${order.item}/receipt`, {
        manifest_sha256: order.manifestSha256,
        verified: false,
        reason: `playing: ${failure(error).message}`.slice(0, 500),
      })
      .catch(() => undefined);
  }
  const { message, hint } = failure(error);
  tell(playing.port, { kind: "failed", token: order.token, verification, message, hint });
}

async function play(token: string, request: Request): Promise<Response> {
  // Media elements only: no navigation, no "save video as", no fetch() of plaintext.
  if (request.destination !== "video" && request.destination !== "audio") {
    return new Response(null, { status: 403 });
  }
  const playing = plays.get(token);
  if (playing === undefined) return new Response(null, { status: 404 });
  let playback: Playback;
  try {
    playback = await playing.playback;
  } catch {
    return new Response(null, { status: 403 });
  }
  return playback.answer(request.headers.get("Range"), (error) => {
    void playFailed(playing, error);
  });
}
