/**
 * The sender-signed manifest (`crypto/manifest.py`): what was sent, by whom, with which hashes.
 *
 * Canonical JSON (sorted keys, no spaces, ASCII only, no floats), byte-identical to what
 * Python writes, signed with Ed25519 over `custody-manifest/v1\n` ‖ manifest bytes. The
 * parser refuses exactly what Python's `SignedManifest.from_bytes` and `verify` refuse,
 * with the same messages.
 */

import {
  fromBase64Lenient,
  fromUtf8,
  isAscii,
  isWellFormed,
  utf8,
  ascii,
  concat,
  toBase64,
} from "./bytes.js";
import { BadSignature, InvalidInput } from "./errors.js";
import { type Json, type JsonObject, JsonRefused, canonicalJson, isObject, parseJson } from "./json.js";
import { type SigningKey, VerifyKey } from "./signing.js";

export const VERSION = 1;
export const SIGNATURE_CONTEXT = ascii("custody-manifest/v1\n");
const HEX64 = /^[0-9a-f]{64}$/;
const RFC3339_UTC = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$/;

/** Field names in declaration order (Python checks them in this order). */
const FIELDS = [
  ["item", "str"],
  ["transfer", "str"],
  ["case", "str"],
  ["file_name", "str"],
  ["size", "int"],
  ["sha256", "str"],
  ["ciphertext_size", "int"],
  ["ciphertext_sha256", "str"],
  ["item_recipient", "str"],
  ["sender", "str"],
  ["signing_key", "str"],
  ["created_at", "str"],
] as const;
const SORTED_NAMES = FIELDS.map(([n]) => n).sort();
/** The one field a manifest may leave out: the file's folder inside the folder sent. */
const OPTIONAL = "folder";
export const MAX_FOLDER_DEPTH = 32;
export const MAX_FOLDER_BYTES = 1024;

function isControl(code: number): boolean {
  return code <= 0x1f || (code >= 0x7f && code <= 0x9f); // Unicode category Cc
}

function isBidiOrSeparator(code: number): boolean {
  // Bidi embeddings/overrides and isolates can make a name display as something else.
  return (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069) || code === 0x2028 || code === 0x2029;
}

/** `name` (NFC) if it is safe to write as one file on a receiver's disk; else InvalidInput. */
export function safeFileName(name: string): string {
  if (!isWellFormed(name)) {
    // Python's check would fail on encoding it; refuse it plainly.
    throw new InvalidInput("the file name is not valid Unicode", "rename the file");
  }
  const nfc = name.normalize("NFC");
  if (nfc === "" || nfc === "." || nfc === "..") {
    throw new InvalidInput(`'${nfc}' is not a usable file name`, "rename the file");
  }
  if (nfc.includes("/") || nfc.includes("\\")) {
    throw new InvalidInput("a file name may not contain '/' or '\\'", "rename the file");
  }
  for (const char of nfc) {
    const code = char.codePointAt(0) ?? 0;
    if (isControl(code) || isBidiOrSeparator(code)) {
      const hex = code.toString(16).toUpperCase().padStart(4, "0");
      throw new InvalidInput(`the file name contains a control character (U+${hex})`, "rename the file");
    }
  }
  if (utf8(nfc).length > 255) {
    throw new InvalidInput("the file name is longer than 255 bytes", "rename the file");
  }
  return nfc;
}

/**
 * `folder` (NFC), a relative path of folder names joined by '/', if each name is a safe file
 * name and the whole cannot climb out of, or reach past, the folder it is written under: no
 * '..', no '.', no empty part, not absolute; else InvalidInput (Python's `safe_folder`).
 */
export function safeFolder(folder: string): string {
  if (!isWellFormed(folder)) {
    throw new InvalidInput("the file name is not valid Unicode", "rename the file");
  }
  const nfc = folder.normalize("NFC");
  if (utf8(nfc).length > MAX_FOLDER_BYTES) {
    throw new InvalidInput(`the folder path is longer than ${MAX_FOLDER_BYTES} bytes`);
  }
  const parts = nfc.split("/");
  if (parts.length > MAX_FOLDER_DEPTH) {
    throw new InvalidInput(`the folder path is more than ${MAX_FOLDER_DEPTH} folders deep`);
  }
  for (const part of parts) {
    if (part === "") {
      throw new InvalidInput("the folder path is absolute or has an empty part", "send a relative folder");
    }
    safeFileName(part);
  }
  return nfc;
}

export interface ManifestFields {
  readonly item: string;
  readonly transfer: string;
  readonly case: string;
  readonly file_name: string;
  readonly size: number;
  readonly sha256: string;
  readonly ciphertext_size: number;
  readonly ciphertext_sha256: string;
  readonly item_recipient: string;
  readonly sender: string;
  /** base64 Ed25519 public key of the sender */
  readonly signing_key: string;
  /** RFC 3339 UTC, e.g. "2026-11-25T07:35:00Z" */
  readonly created_at: string;
  /** The file's folder inside the folder sent ("statements/2026"); absent for a lone file. */
  readonly folder?: string;
}

/** What the sender vouches for about one item; validated as Python's `__post_init__`. */
export class Manifest implements ManifestFields {
  readonly item!: string;
  readonly transfer!: string;
  readonly case!: string;
  readonly file_name!: string;
  readonly size!: number;
  readonly sha256!: string;
  readonly ciphertext_size!: number;
  readonly ciphertext_sha256!: string;
  readonly item_recipient!: string;
  readonly sender!: string;
  readonly signing_key!: string;
  readonly created_at!: string;
  readonly folder?: string;

  constructor(fields: ManifestFields) {
    const values = fields as unknown as Record<string, unknown>;
    for (const [name, wanted] of FIELDS) {
      const value = values[name];
      const isInt = (typeof value === "number" && Number.isInteger(value)) || typeof value === "bigint";
      if (!(wanted === "int" ? isInt : typeof value === "string")) {
        throw new InvalidInput(`manifest field '${name}' must be ${wanted}`);
      }
    }
    // Python's ints have no bound; sizes beyond 2^53 (8 PiB) are refused here instead.
    if (!Number.isSafeInteger(fields.size) || !Number.isSafeInteger(fields.ciphertext_size)) {
      throw new InvalidInput("manifest sizes are too large for this client");
    }
    const folder = values[OPTIONAL];
    if (folder !== undefined && typeof folder !== "string") {
      throw new InvalidInput(`manifest field '${OPTIONAL}' must be str`);
    }
    if (safeFileName(fields.file_name) !== fields.file_name) {
      throw new InvalidInput("the manifest's file name is not in Unicode NFC form");
    }
    if (folder !== undefined && safeFolder(folder) !== folder) {
      throw new InvalidInput("the manifest's folder is not in Unicode NFC form");
    }
    for (const name of ["sha256", "ciphertext_sha256"] as const) {
      if (!HEX64.test(fields[name])) {
        throw new InvalidInput(`manifest field '${name}' is not a lower-case hex SHA-256`);
      }
    }
    if (fields.size < 0 || fields.ciphertext_size <= fields.size) {
      throw new InvalidInput("manifest sizes are impossible");
    }
    if (!RFC3339_UTC.test(fields.created_at)) {
      throw new InvalidInput("manifest time must be RFC 3339 UTC, like 2026-11-25T07:35:00Z");
    }
    VerifyKey.fromBase64(fields.signing_key);
    for (const [name] of FIELDS) (this as unknown as Record<string, unknown>)[name] = values[name];
    if (folder !== undefined) (this as unknown as Record<string, unknown>)[OPTIONAL] = folder;
    Object.freeze(this);
  }

  /** Where the receiver writes it under its folder: folder/file_name. */
  get relativePath(): string {
    return this.folder === undefined ? this.file_name : `${this.folder}/${this.file_name}`;
  }

  /** Canonical JSON: the exact bytes that are signed (no `folder` for a lone file). */
  toBytes(): Uint8Array {
    const document: JsonObject = { v: VERSION };
    for (const [name] of FIELDS) document[name] = this[name];
    if (this.folder !== undefined) document[OPTIONAL] = this.folder;
    return ascii(canonicalJson(document));
  }

  static fromBytes(data: Uint8Array): Manifest {
    const document = jsonObject(data, "manifest");
    const version = document["v"];
    delete document["v"];
    if (version !== VERSION) throw new InvalidInput("unknown manifest version");
    const names = Object.keys(document)
      .filter((n) => n !== OPTIONAL)
      .sort();
    if (names.length !== SORTED_NAMES.length || names.some((n, i) => n !== SORTED_NAMES[i])) {
      const listed = SORTED_NAMES.map((n) => `'${n}'`).join(", ");
      throw new InvalidInput(`manifest fields differ from [${listed}] (and '${OPTIONAL}')`);
    }
    if (OPTIONAL in document && document[OPTIONAL] === null) {
      throw new InvalidInput(`manifest field '${OPTIONAL}' must be str`); // absent, not null
    }
    return new Manifest(document as unknown as ManifestFields);
  }
}

/** A manifest's canonical bytes with the sender's Ed25519 signature over them. */
export class SignedManifest {
  constructor(
    readonly manifestBytes: Uint8Array,
    readonly signature: Uint8Array,
  ) {}

  static sign(manifest: Manifest, key: SigningKey): SignedManifest {
    if (manifest.signing_key !== key.publicKey.toBase64()) {
      throw new InvalidInput("the manifest names a different signing key than the one signing it");
    }
    const data = manifest.toBytes();
    return new SignedManifest(data, key.sign(concat(SIGNATURE_CONTEXT, data)));
  }

  /** The manifest, if `expected` signed it and it names `expected`; else BadSignature. */
  verify(expected: VerifyKey): Manifest {
    expected.verify(this.signature, concat(SIGNATURE_CONTEXT, this.manifestBytes));
    const manifest = Manifest.fromBytes(this.manifestBytes);
    if (manifest.signing_key !== expected.toBase64()) {
      throw new BadSignature("the manifest names a different signing key");
    }
    return manifest;
  }

  /** The envelope `{"manifest": base64, "signature": base64}`, canonical. */
  toBytes(): Uint8Array {
    return ascii(
      canonicalJson({ manifest: toBase64(this.manifestBytes), signature: toBase64(this.signature) }),
    );
  }

  static fromBytes(data: Uint8Array): SignedManifest {
    const document = jsonObject(data, "signed manifest");
    const keys = Object.keys(document).sort();
    if (keys.length !== 2 || keys[0] !== "manifest" || keys[1] !== "signature") {
      throw new InvalidInput("a signed manifest has exactly 'manifest' and 'signature'");
    }
    const decode = (value: Json | undefined): Uint8Array => {
      if (typeof value !== "string" || !isAscii(value)) throw new Error("not base64");
      return fromBase64Lenient(value);
    };
    try {
      return new SignedManifest(decode(document["manifest"]), decode(document["signature"]));
    } catch {
      throw new InvalidInput("the signed manifest's fields are not base64");
    }
  }
}

function jsonObject(data: Uint8Array, what: string): JsonObject {
  let document: Json;
  try {
    document = parseJson(fromUtf8(data));
  } catch (error) {
    if (error instanceof JsonRefused) {
      if (error.kind === "float") {
        throw new InvalidInput(`the ${what} contains a number that is not an integer: ${error.text}`);
      }
      if (error.kind === "duplicate") throw new InvalidInput(`the ${what} repeats a key`);
      if (error.kind === "depth") throw new InvalidInput(`the ${what} is nested too deeply to be a manifest`);
      if (error.kind === "text") throw new InvalidInput(`the ${what} holds a string that is not Unicode text`);
    }
    // not UTF-8, not JSON, or an integer of more than 4300 digits
    throw new InvalidInput(`the ${what} is not JSON`);
  }
  if (!isObject(document)) throw new InvalidInput(`the ${what} is not a JSON object`);
  return document;
}
