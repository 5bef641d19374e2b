/**
 * One error hierarchy, mirroring `custody.errors` (codes are the wire's `ErrorCode`s):
 *
 *     CustodyError                 error
 *     ├── InvalidInput             invalid_input   malformed input (a key, a manifest, a checkpoint)
 *     ├── NotAuthenticated         not_authenticated
 *     │   └── WrongPassphrase                      the passphrase does not open the key file
 *     ├── IntegrityError           integrity       content, a signature or the ledger failed verification
 *     │   ├── DecryptionFailed                     every age failure, one opaque message (no oracle)
 *     │   ├── BadSignature                         an Ed25519 signature did not verify
 *     │   ├── InvalidProof                         an inclusion or consistency proof does not hold
 *     │   ├── NoteError                            a signed note is malformed or untrusted
 *     │   ├── LogKeyMismatch                       a server names another log key than the pinned one
 *     │   └── SplitView                            a checkpoint does not extend the one seen before
 *     └── LocalError               local           this machine refused (a file changed while read)
 *
 * Each carries a `message` (what happened) and maybe a `hint` (what to do next), as Python's do.
 * `DecryptionFailed.detail` keeps the precise reason for local debugging only.
 */

export type ErrorCode = "error" | "invalid_input" | "not_authenticated" | "integrity" | "local";

export class CustodyError extends Error {
  readonly code: ErrorCode = "error";
  readonly hint: string | undefined;

  constructor(message: string, hint?: string) {
    super(message);
    this.name = new.target.name;
    this.hint = hint;
  }

  /** The message for a person: what happened, then what to do. */
  diagnostics(): string {
    return this.hint ? `${this.message}\n  → ${this.hint}` : this.message;
  }
}

export class InvalidInput extends CustodyError {
  override readonly code: ErrorCode = "invalid_input";
}

export class NotAuthenticated extends CustodyError {
  override readonly code: ErrorCode = "not_authenticated";
}

export class IntegrityError extends CustodyError {
  override readonly code: ErrorCode = "integrity";
}

/** The file could not be decrypted: wrong key, or the file is damaged or was altered. */
export class DecryptionFailed extends IntegrityError {
  /** Why, for local debugging only: never show it to the network. */
  readonly detail: string;

  constructor(detail = "") {
    super(
      "the file could not be decrypted: wrong key, or the file is damaged or was altered",
      "check that you are using the key the file was sent to; if so, fetch it again",
    );
    this.detail = detail;
  }
}

/** The passphrase does not open this key file. */
export class WrongPassphrase extends NotAuthenticated {
  constructor() {
    super(
      "the passphrase does not open this key file",
      "check the passphrase (and that this is your key file), then try again",
    );
  }
}

export class LocalError extends CustodyError {
  override readonly code: ErrorCode = "local";
}

export class BadSignature extends IntegrityError {}

export class InvalidProof extends IntegrityError {}

export class NoteError extends IntegrityError {}

export class LogKeyMismatch extends IntegrityError {}

/** The server showed a tree that does not extend the one this client verified before. */
export class SplitView extends IntegrityError {
  /** The remembered signed checkpoint and the one the server showed: evidence to keep. */
  readonly remembered: Uint8Array;
  readonly shown: Uint8Array;

  constructor(message: string, hint: string, remembered: Uint8Array, shown: Uint8Array) {
    super(message, hint);
    this.remembered = remembered;
    this.shown = shown;
  }
}
