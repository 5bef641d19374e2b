/**
 * What the pages and the service worker (`sw.ts`) say to each other.
 *
 * A page that has verified an item's signed manifest hands the service worker one order —
 * the item key and the signed sizes and hashes — and then points a link (Save) or a
 * `<video>` (Play) at a same-origin URL under {@link SW_PREFIX} that only the service worker
 * answers: nothing decrypted ever travels to the server, and the server never sees these
 * URLs (without the service worker they are a plain 404).
 */

/** URLs the service worker answers itself: `/sw/save/<token>`, `/sw/play/<token>`. */
export const SW_PREFIX = "/sw/";
export const SW_SCRIPT = "/static/app/sw.js";

/** Save one item: stream its ciphertext, decrypt and hash as it passes, release the last
 * plaintext chunk only once both hashes equal the signed ones. */
export interface SaveOrder {
  readonly kind: "save";
  readonly token: string;
  readonly item: string;
  /** The item key (AGE-SECRET-KEY-1…): held in the service worker's memory only. */
  readonly itemKey: string;
  readonly fileName: string;
  readonly size: number;
  readonly sha256: string;
  readonly ciphertextSize: number;
  readonly ciphertextSha256: string;
  readonly manifestSha256: string;
  /** The session's CSRF token, for the receipt the service worker posts. */
  readonly csrf: string;
}

/** Play one item: answer the player's byte ranges from the viewing's ciphertext ranges. */
export interface PlayOrder {
  readonly kind: "play";
  readonly token: string;
  readonly item: string;
  readonly itemKey: string;
  readonly view: string;
  readonly size: number;
  readonly ciphertextSize: number;
  readonly mediaType: string;
  /** For the receipt of a failed verification while playing. */
  readonly manifestSha256: string;
  readonly csrf: string;
}

export type Order = SaveOrder | PlayOrder;

/** Page → service worker, besides orders (which come with a MessagePort for the answers). */
export type Notice =
  | { readonly kind: "ping" } // keeps the service worker alive while a page needs it
  | { readonly kind: "claim" } // take control of the pages (after a hard reload)
  | { readonly kind: "end"; readonly token: string }; // forget a play order

/** Service worker → page. */
export type Report =
  | { readonly kind: "ready"; readonly token: string; readonly url: string }
  | { readonly kind: "progress"; readonly token: string; readonly bytes: number }
  | { readonly kind: "saved"; readonly token: string; readonly receiptError: string | null }
  | {
      readonly kind: "failed";
      readonly token: string;
      /** true: verification failed (recorded as such); false: interrupted, nothing recorded */
      readonly verification: boolean;
      readonly message: string;
      readonly hint: string | null;
    };

export function saveUrl(token: string): string {
  return `${SW_PREFIX}save/${token}`;
}

export function playUrl(token: string): string {
  return `${SW_PREFIX}play/${token}`;
}
