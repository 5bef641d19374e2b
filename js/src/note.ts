/**
 * C2SP signed-note (c2sp.org/signed-note) verification with Ed25519 verifier keys
 * (`ledger/note.py`, byte-compatible with Go's `golang.org/x/mod/sumdb/note`).
 */

import { sha256 } from "@noble/hashes/sha2.js";

import {

  fromBase64Lenient,
  fromBase64Strict,
  fromUtf8,
  isAscii,
  isPySpace,
  toBase64,
  utf8,
  concat,
} from "./bytes.js";
import { InvalidInput, NoteError } from "./errors.js";
import { VerifyKey } from "./signing.js";

export const ALG_ED25519 = 0x01;
/** As Go's note.Open: refuse notes that would take forever. */
export const MAX_SIGNATURES = 100;
const SIG_PREFIX = "\u2014 "; // EM DASH, SPACE

/** signed-note §Note: non-empty, no Unicode spaces, no "+". */
export function isValidName(name: string): boolean {
  if (!name || name.includes("+")) return false;
  for (let i = 0; i < name.length; i++) if (isPySpace(name.charCodeAt(i))) return false;
  return true;
}

/** signed-note §Signatures: first 4 bytes of SHA-256(name || 0x0A || alg || key), as a number. */
export function keyId(name: string, publicKey: Uint8Array): number {
  const digest = sha256(concat(utf8(name), Uint8Array.of(0x0a, ALG_ED25519), publicKey));
  return ((digest[0] ?? 0) * 2 ** 24) + ((digest[1] ?? 0) << 16) + ((digest[2] ?? 0) << 8) + (digest[3] ?? 0);
}

function hex8(id: number): string {
  return id.toString(16).padStart(8, "0");
}

function checkName(name: string): void {
  if (!isValidName(name)) throw new InvalidInput(`'${name}' is not a valid note key name (no spaces, no '+')`);
}

function splitKey(text: string, what: string): [string, string, string] {
  const first = text.indexOf("+");
  const second = first < 0 ? -1 : text.indexOf("+", first + 1);
  if (second < 0) throw new InvalidInput(`a ${what} has the form name+hash+key`);
  const name = text.slice(0, first);
  const hash = text.slice(first + 1, second);
  checkName(name);
  if (!/^[0-9a-fA-F]{8}$/.test(hash)) {
    throw new InvalidInput(`a ${what}'s hash is 8 hex digits (and a key name has no '+')`);
  }
  return [name, hash, text.slice(second + 1)];
}

/** An Ed25519 note verifier key: `name+hash+base64(0x01 || public key)`. */
export class Verifier {
  constructor(
    readonly name: string,
    readonly publicKey: VerifyKey,
  ) {
    checkName(name);
  }

  get keyId(): number {
    return keyId(this.name, this.publicKey.raw);
  }

  get vkey(): string {
    return `${this.name}+${hex8(this.keyId)}+${toBase64(concat(Uint8Array.of(ALG_ED25519), this.publicKey.raw))}`;
  }

  /** Parse a verifier key as Go's `note.NewVerifier` does. */
  static fromVkey(vkey: string): Verifier {
    const [name, hash, key] = splitKey(vkey, "verifier key");
    let raw: Uint8Array;
    try {
      raw = fromBase64Strict(key);
    } catch {
      throw new InvalidInput("the verifier key's key is not base64");
    }
    if (raw.length === 0 || raw[0] !== ALG_ED25519) {
      throw new InvalidInput("the verifier key is not an Ed25519 key (algorithm byte 0x01)");
    }
    if (raw.length !== 33) throw new InvalidInput(`the verifier key has ${raw.length - 1} key bytes, not 32`);
    const verifier = new Verifier(name, new VerifyKey(raw.subarray(1)));
    if (verifier.keyId !== parseInt(hash, 16)) {
      throw new InvalidInput(`verifier key ${name}: the key hash does not match the key`);
    }
    return verifier;
  }

  verify(message: Uint8Array, signature: Uint8Array): boolean {
    return this.publicKey.isValid(signature, message);
  }
}

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  readonly signature: Uint8Array;
}

/** An opened note: its text and the signatures that verified (and those of unknown keys). */
export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
  readonly unverified: readonly NoteSignature[];
}

function parseSigLine(line: string): NoteSignature {
  if (!line.startsWith(SIG_PREFIX)) throw new NoteError("a signature line starts with '\u2014 '");
  const rest = line.slice(SIG_PREFIX.length);
  const space = rest.indexOf(" ");
  const name = space < 0 ? rest : rest.slice(0, space);
  const b64 = space < 0 ? "" : rest.slice(space + 1);
  let raw: Uint8Array;
  try {
    if (!isAscii(b64)) throw new Error("not ASCII");
    raw = fromBase64Lenient(b64);
  } catch {
    throw new NoteError(`signature by '${name}' is not base64`);
  }
  if (!isValidName(name) || !b64 || raw.length < 5) throw new NoteError(`malformed signature line for '${name}'`);
  const id = ((raw[0] ?? 0) * 2 ** 24) + ((raw[1] ?? 0) << 16) + ((raw[2] ?? 0) << 8) + (raw[3] ?? 0);
  return { name, keyId: id, signature: raw.slice(4) };
}

function sameSignature(a: NoteSignature, b: NoteSignature): boolean {
  return a.name === b.name && a.keyId === b.keyId && toBase64(a.signature) === toBase64(b.signature);
}

/** Parse `note` and check its signatures as Go's `note.Open` does. */
export function openNote(note: Uint8Array, verifiers: readonly Verifier[]): Note {
  let msg: string;
  try {
    msg = fromUtf8(note);
  } catch {
    throw new NoteError("the note is not valid UTF-8");
  }
  for (let i = 0; i < msg.length; i++) {
    const c = msg.charCodeAt(i);
    if (c < 0x20 && c !== 0x0a) throw new NoteError("the note has control characters other than newline");
  }
  const split = msg.lastIndexOf("\n\n");
  if (split < 0) throw new NoteError("the note has no blank line before its signatures");
  const text = msg.slice(0, split + 1);
  const sigs = msg.slice(split + 2);
  if (!sigs.endsWith("\n")) throw new NoteError("the note's signature block does not end with a newline");
  const lines = sigs.slice(0, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new NoteError(`the note has more than ${MAX_SIGNATURES} signatures`);
  const parsed = lines.map(parseSigLine);
  const known = new Map<string, Verifier[]>();
  for (const v of verifiers) {
    const k = `${v.name}\n${v.keyId}`;
    known.set(k, [...(known.get(k) ?? []), v]);
  }
  const message = utf8(text);
  const good: NoteSignature[] = [];
  const unverified: NoteSignature[] = [];
  for (const sig of parsed) {
    const matches = known.get(`${sig.name}\n${sig.keyId}`) ?? [];
    if (matches.length === 0) {
      if (!unverified.some((u) => sameSignature(u, sig))) unverified.push(sig); // unknown keys are ignored
    } else if (matches.length > 1) {
      throw new InvalidInput(`ambiguous key ${sig.name}+${hex8(sig.keyId)}`);
    } else if (good.every((g) => g.name !== sig.name || g.keyId !== sig.keyId)) {
      if (!(matches[0] as Verifier).verify(message, sig.signature)) {
        throw new NoteError(`invalid signature for key ${sig.name}+${hex8(sig.keyId)}`);
      }
      good.push(sig);
    }
  }
  if (good.length === 0) throw new NoteError("the note has no signature by a trusted key");
  return { text, signatures: good, unverified };
}

