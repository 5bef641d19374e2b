/**
 * The pages' side of the service worker (`sw.ts`): register it, make sure it controls this
 * page, hand it an order over a MessageChannel, hear its reports, keep it alive while an
 * order needs it.
 */

import { toHex } from "../bytes.js";
import { CustodyError, LocalError } from "../errors.js";
import { type Notice, type Order, type Report, SW_SCRIPT } from "./sw-protocol.js";

const KEEP_ALIVE_MS = 10_000;
const CLAIM_WAIT_MS = 5_000;

/** A fresh order token: 128 random bits. */
export function newToken(): string {
  return toHex(crypto.getRandomValues(new Uint8Array(16)));
}

/** The active service worker, controlling this page (a `<video>` needs that). */
export async function serviceWorker(): Promise<ServiceWorker> {
  const container = navigator.serviceWorker as ServiceWorkerContainer | undefined;
  if (container === undefined) {
    throw new LocalError(
      "this browser cannot decrypt custody material here (it offers no service workers)",
      "use a current Chromium, Firefox or Safari, outside a private window; or custody receive",
    );
  }
  await container.register(SW_SCRIPT, { scope: "/", updateViaCache: "none" });
  const registration = await container.ready;
  const worker = registration.active;
  if (worker === null) throw new LocalError("the service worker did not start", "reload the page");
  if (container.controller === null) {
    // A first visit (before clients.claim()) or a hard reload: ask it to take this page.
    const claimed = new Promise<void>((resolve) => {
      container.addEventListener("controllerchange", () => resolve(), { once: true });
      setTimeout(resolve, CLAIM_WAIT_MS);
    });
    worker.postMessage({ kind: "claim" } satisfies Notice);
    await claimed;
    if (container.controller === null) {
      throw new LocalError("the service worker does not control this page", "reload the page (not a hard reload)");
    }
  }
  return worker;
}

/** The error a report of failure carries, as the page shows it. */
export class Refused extends CustodyError {
  constructor(
    message: string,
    hint: string | null,
    /** The content failed verification (and that was recorded), rather than being interrupted. */
    readonly verification: boolean,
  ) {
    super(message, hint ?? undefined);
  }
}

/**
 * Send `order`; resolves with the URL the service worker will answer once it is ready
 * (rejects with {@link Refused} if it fails before). Every report goes to `onReport`.
 */
export function place(worker: ServiceWorker, order: Order, onReport: (report: Report) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = (event: MessageEvent<Report>) => {
      const report = event.data;
      if (report.kind === "ready") resolve(report.url);
      else if (report.kind === "failed") reject(new Refused(report.message, report.hint, report.verification));
      onReport(report);
    };
    worker.postMessage(order, [channel.port2]);
  });
}

/** Ping the service worker (each message extends its life) until the returned stop(). */
export function keepAlive(worker: ServiceWorker, ping: () => void = () => worker.postMessage({ kind: "ping" } satisfies Notice)): () => void {
  const timer = setInterval(ping, KEEP_ALIVE_MS);
  return () => clearInterval(timer);
}
