/** What the send page and its worker say to each other (`postMessage`). */

/** Page → worker: send these files; the worker does all of it and reports. */
export interface StartSend {
  readonly type: "start";
  readonly csrf: string;
  readonly userId: string;
  /** the log key this page's server names (checked against the pinned one, never adopted) */
  readonly serverLogKey: string;
  /** this browser's `custody:` localStorage entries: the pinned log key, the largest checkpoint seen */
  readonly trust: Record<string, string>;
  readonly files: readonly File[];
  readonly urn: string;
  readonly to: readonly string[];
  readonly ackWithin: string | null;
  readonly subjects: readonly string[];
  /** the person chose to send files again that were sent before, as a new transfer */
  readonly again: boolean;
  readonly patchBytes: number;
}

export interface FilePlan {
  readonly name: string;
  readonly size: number;
}

/** Worker → page. */
export type SendReport =
  | { readonly type: "status"; readonly text: string }
  | { readonly type: "files"; readonly files: readonly FilePlan[] }
  /** ciphertext bytes of file `index` on the server (or on their way), read so far, and in all */
  | { readonly type: "progress"; readonly index: number; readonly uploaded: number; readonly read: number; readonly total: number }
  | { readonly type: "resumed"; readonly index: number; readonly offset: number; readonly length: number }
  | { readonly type: "sealed"; readonly index: number; readonly already: boolean }
  | { readonly type: "already-sent"; readonly transfer: string; readonly at: string }
  /** a change to this browser's trust memory (localStorage), which a worker does not have */
  | { readonly type: "trust"; readonly key: string; readonly value: string }
  | { readonly type: "done"; readonly transfer: string; readonly urn: string; readonly items: number; readonly ackDeadline: string | null }
  | { readonly type: "failed"; readonly message: string; readonly hint: string | null; readonly locked: boolean };
