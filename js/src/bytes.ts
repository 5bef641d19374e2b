/**
 * Byte helpers shared by every module: UTF-8 and ASCII, hex, and base64 in the exact
 * spellings custody's Python accepts (canonical standard, unpadded "raw", and Python's
 * `base64.b64decode(..., validate=True)`), plus Python's notion of whitespace.
 */

import { base64 as scureBase64 } from "@scure/base";

const encoder = new TextEncoder();
const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}

/** Strict UTF-8 (no replacement characters, no encoded surrogates); Error if invalid. */
export function fromUtf8(data: Uint8Array): string {
  return strictDecoder.decode(data);
}

/** True if every code unit is a valid scalar value (no lone surrogates), as Python's encode needs. */
export function isWellFormed(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (!(next >= 0xdc00 && next <= 0xdfff)) return false;
      i++;
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      return false;
    }
  }
  return true;
}

export function isAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) return false;
  return true;
}

/** ASCII bytes of a string known to be ASCII. */
export function ascii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

/** Latin-1 view of bytes (each byte one code unit): for parsing ASCII formats. */
export function latin1(data: Uint8Array): string {
  let out = "";
  for (let i = 0; i < data.length; i += 8192) {
    out += String.fromCharCode(...data.subarray(i, i + 8192));
  }
  return out;
}

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** Byte equality in time that depends only on the lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return diff === 0;
}

export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX = "0123456789abcdef";

export function toHex(data: Uint8Array): string {
  let out = "";
  for (const b of data) out += (HEX[b >> 4] ?? "") + (HEX[b & 15] ?? "");
  return out;
}

/** Lower- or upper-case hex of even length; Error otherwise. */
export function fromHex(text: string): Uint8Array {
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(text)) throw new Error("not hex");
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Standard, padded base64 (RFC 4648 §4). */
export function toBase64(data: Uint8Array): string {
  return scureBase64.encode(data);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const VALUE = new Int16Array(128).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;

/**
 * Python's `base64.b64decode(text, validate=True)` (CPython 3.11's strict `a2b_base64`):
 * only alphabet characters and `=`; no leading or discontinuous padding, none after a
 * complete pad; the data length not 1 more than a multiple of 4. Unused trailing bits are
 * ignored (`QR==` is accepted), as Python ignores them. Error if refused.
 */
export function fromBase64Lenient(text: string): Uint8Array {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let produced = 0;
  let quad = 0;
  let pads = 0;
  let padding = false;
  let acc = 0;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x3d) {
      padding = true;
      if (i === 0) throw new Error("leading padding");
      pads += 1;
      if (quad >= 2 && quad + pads >= 4) {
        if (i + 1 < text.length) throw new Error("data after padding");
        return out.slice(0, produced);
      }
      continue;
    }
    const value = ch < 128 ? (VALUE[ch] ?? -1) : -1;
    if (value < 0) throw new Error("not base64");
    if (padding) throw new Error("discontinuous padding");
    pads = 0;
    acc = ((acc << 6) | value) & 0xffffff;
    quad = (quad + 1) % 4;
    if (quad === 2) out[produced++] = (acc >> 4) & 0xff;
    else if (quad === 3) out[produced++] = (acc >> 2) & 0xff;
    else if (quad === 0) out[produced++] = acc & 0xff;
  }
  if (quad !== 0) throw new Error(quad === 1 ? "truncated base64" : "incorrect padding");
  return out.slice(0, produced);
}

/** Standard base64 in its one canonical spelling (as `note.b64decode_strict`); Error if not. */
export function fromBase64Strict(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) {
    throw new Error("not base64");
  }
  const raw = fromBase64Lenient(text);
  if (toBase64(raw) !== text) throw new Error("not canonical base64");
  return raw;
}

/** Unpadded standard base64, as the age header uses. */
export function toBase64Raw(data: Uint8Array): string {
  return toBase64(data).replace(/=+$/, "");
}

/** Strict inverse of {@link toBase64Raw}: no padding, no stray bytes, canonical trailing bits. */
export function fromBase64Raw(text: string): Uint8Array {
  if (!/^[A-Za-z0-9+/]*$/.test(text) || text.length % 4 === 1) throw new Error("invalid base64");
  const raw = fromBase64Lenient(text + "=".repeat((4 - (text.length % 4)) % 4));
  if (toBase64Raw(raw) !== text) throw new Error("non-canonical base64");
  return raw;
}

// Python's str.isspace(): Unicode White_Space less U+FEFF, plus the ASCII separators 0x1C-0x1F.
const PY_SPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x1c, 0x1d, 0x1e, 0x1f, 0x20, 0x85, 0xa0, 0x1680, 0x2000,
  0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a, 0x2028,
  0x2029, 0x202f, 0x205f, 0x3000,
]);

export function isPySpace(codeUnit: number): boolean {
  return PY_SPACE.has(codeUnit);
}

/** Python's `str.strip()` (no argument). */
export function pyStrip(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE.has(text.charCodeAt(start))) start++;
  while (end > start && PY_SPACE.has(text.charCodeAt(end - 1))) end--;
  return text.slice(start, end);
}

/** Python's `bytes.lstrip()` (ASCII whitespace). */
export function lstripAsciiSpace(data: Uint8Array): Uint8Array {
  let start = 0;
  while (start < data.length && [0x20, 0x09, 0x0a, 0x0d, 0x0b, 0x0c].includes(data[start] ?? 0)) {
    start++;
  }
  return data.subarray(start);
}

export function startsWith(data: Uint8Array, prefix: Uint8Array): boolean {
  if (data.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (data[i] !== prefix[i]) return false;
  return true;
}

/** Random bytes from the platform's CSPRNG (WebCrypto, in browsers and Node alike). */
export function randomBytes(size: number): Uint8Array {
  const out = new Uint8Array(size);
  crypto.getRandomValues(out);
  return out;
}
