/**
 * The age v1 header and ASCII armor, parsed strictly (C2SP age, "Header" and "ASCII armor").
 *
 * A port of `custody.crypto._format`: any malleability in the header would let two byte
 * strings carry the same MAC, so parsing is strict. Errors are {@link Malformed}, which
 * the public functions in `age.ts` turn into the one opaque `DecryptionFailed`.
 */

import { hkdf } from "@noble/hashes/hkdf.js";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

import {
  ascii,
  concat,
  fromBase64Raw,
  latin1,
  toBase64,
  toBase64Raw,
  utf8,
} from "./bytes.js";

export const VERSION_LINE = "age-encryption.org/v1";
const COLUMNS = 64; // stanza bodies and armor wrap at 64 columns
const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
const ARMOR_END = "-----END AGE ENCRYPTED FILE-----";

const HEADER_LABEL = ascii("header");

/** The input is not a well-formed age file, or a check on it failed (internal). */
export class Malformed extends Error {}

/** Unpadded base64 decode that fails as {@link Malformed}. */
export function b64RawDecode(text: string): Uint8Array {
  try {
    return fromBase64Raw(text);
  } catch {
    throw new Malformed("invalid or non-canonical base64");
  }
}

/** One recipient stanza: `-> type args...` then the wrapped body. */
export class Stanza {
  constructor(
    readonly args: readonly string[],
    readonly body: Uint8Array,
  ) {}

  get type(): string {
    return this.args[0] ?? "";
  }

  encode(): string {
    const lines = ["-> " + this.args.join(" ")];
    const encoded = toBase64Raw(this.body);
    for (let i = 0; i < encoded.length; i += COLUMNS) lines.push(encoded.slice(i, i + COLUMNS));
    if (encoded.length % COLUMNS === 0) lines.push(""); // the body ends with a short line
    return lines.join("\n") + "\n";
  }
}

export interface Header {
  readonly stanzas: readonly Stanza[];
  readonly mac: Uint8Array;
  /** The bytes the MAC covers: everything up to and including "---". */
  readonly authenticated: Uint8Array;
}

export function headerWithoutMac(stanzas: readonly Stanza[]): Uint8Array {
  return ascii(VERSION_LINE + "\n" + stanzas.map((s) => s.encode()).join("") + "---");
}

export function encodeHeader(authenticated: Uint8Array, mac: Uint8Array): Uint8Array {
  return concat(authenticated, ascii(" " + toBase64Raw(mac) + "\n"));
}

function validArg(arg: string): boolean {
  if (!arg) return false;
  for (let i = 0; i < arg.length; i++) {
    const c = arg.charCodeAt(i);
    if (c < 33 || c > 126) return false;
  }
  return true;
}

/** Offset just past the MAC line, if `buffer` holds it; only a MAC line starts with "---". */
export function headerEnd(buffer: Uint8Array): number | null {
  for (let i = 0; i + 3 < buffer.length; i++) {
    if (buffer[i] === 0x0a && buffer[i + 1] === 0x2d && buffer[i + 2] === 0x2d && buffer[i + 3] === 0x2d) {
      const end = buffer.indexOf(0x0a, i + 1);
      return end < 0 ? null : end + 1;
    }
  }
  return null;
}

/** Parse a complete header (`data` ends right after the MAC line's newline). */
export function parseHeader(data: Uint8Array): Header {
  const lines = latin1(data).split("\n");
  if (lines.length < 2 || lines.pop() !== "" || lines[0] !== VERSION_LINE) {
    throw new Malformed("bad version line");
  }
  const stanzas: Stanza[] = [];
  let offset = VERSION_LINE.length + 1;
  let index = 1;
  while (index < lines.length) {
    const line = lines[index] ?? "";
    if (line.startsWith("---")) {
      const parts = line.split(" ");
      if (parts[0] !== "---" || parts.length !== 2 || index !== lines.length - 1) {
        throw new Malformed("bad MAC line");
      }
      const mac = b64RawDecode(parts[1] ?? "");
      if (mac.length !== 32) throw new Malformed("bad MAC length");
      return { stanzas, mac, authenticated: data.slice(0, offset + 3) };
    }
    const parts = line.split(" ");
    if (parts[0] !== "->" || parts.length < 2 || !parts.slice(1).every(validArg)) {
      throw new Malformed("bad stanza line");
    }
    offset += line.length + 1;
    const body: Uint8Array[] = [];
    for (;;) {
      // body lines are full (64 columns) until one short line ends the stanza
      index += 1;
      if (index >= lines.length) throw new Malformed("stanza body not terminated");
      const bodyLine = lines[index] ?? "";
      if (bodyLine.length > COLUMNS) throw new Malformed("stanza body line too long");
      body.push(b64RawDecode(bodyLine));
      offset += bodyLine.length + 1;
      if (bodyLine.length < COLUMNS) break;
    }
    stanzas.push(new Stanza(parts.slice(1), concat(...body)));
    index += 1;
  }
  throw new Malformed("no MAC line");
}

const SPACE = new Set([0x20, 0x09, 0x0d, 0x0a]);

export function isArmored(data: Uint8Array): boolean {
  let i = 0;
  while (i < data.length && SPACE.has(data[i] ?? 0)) i++;
  return latin1(data.subarray(i, i + 10)) === "-----BEGIN";
}

const PADDED_B64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Decode the age ASCII armor: strict PEM, type AGE ENCRYPTED FILE, 64 columns, no headers.
 * Only whitespace around the whole armor and CRLF line ends are tolerated.
 */
export function dearmor(data: Uint8Array): Uint8Array {
  for (const b of data) if (b > 0x7f) throw new Malformed("armor is not ASCII");
  const lines = latin1(data)
    .replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "")
    .replaceAll("\r\n", "\n")
    .split("\n");
  if (lines.length < 2 || lines[0] !== ARMOR_BEGIN || lines[lines.length - 1] !== ARMOR_END) {
    throw new Malformed("bad armor begin or end line");
  }
  const body = lines.slice(1, -1);
  body.forEach((line, i) => {
    const last = i === body.length - 1;
    const sized = last ? line.length > 0 && line.length <= COLUMNS : line.length === COLUMNS;
    if (!PADDED_B64.test(line) || !sized) throw new Malformed("bad armor line");
    if (!last && line.includes("=")) throw new Malformed("padding before the last armor line");
  });
  const joined = body.join("");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(joined) || joined.length % 4 !== 0) {
    throw new Malformed("bad armor base64");
  }
  let decoded: Uint8Array;
  try {
    decoded = Uint8Array.from(atob(joined), (c) => c.charCodeAt(0));
  } catch {
    throw new Malformed("bad armor base64");
  }
  if (toBase64(decoded) !== joined) throw new Malformed("non-canonical armor base64");
  return decoded;
}

/** The ASCII-armored form of a binary age file (what `age -a` writes). */
export function armor(data: Uint8Array): Uint8Array {
  const encoded = toBase64(data);
  const lines = [ARMOR_BEGIN];
  for (let i = 0; i < encoded.length; i += COLUMNS) lines.push(encoded.slice(i, i + COLUMNS));
  lines.push(ARMOR_END);
  return utf8(lines.join("\n") + "\n");
}

/** age spec, "Header": HMAC-SHA-256 under HKDF(file key, salt "", "header"). */
export function headerMac(fileKey: Uint8Array, authenticated: Uint8Array): Uint8Array {
  return hmac(sha256, hkdf(sha256, fileKey, new Uint8Array(0), HEADER_LABEL, 32), authenticated);
}
