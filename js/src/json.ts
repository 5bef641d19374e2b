/**
 * JSON exactly as custody's Python reads and writes it.
 *
 * Reading mirrors `json.loads` with the hooks custody passes (`parse_float` and
 * `parse_constant` refusing, `object_pairs_hook` refusing repeated keys): the same grammar
 * (whitespace, escapes, no control characters in strings), errors raised in the order
 * Python's scanner meets them, integers of more than 4300 digits refused (Python's int
 * limit); then, once the whole document has parsed, `encoding.py`'s own checks: nothing
 * nested deeper than {@link MAX_DEPTH} ("depth"), then no string (key or value) that escapes
 * half a surrogate pair ("text").
 * Integers come back as `number` when safe, else as `bigint`, so nothing is rounded.
 *
 * Writing mirrors `json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`:
 * keys sorted by code point, every character outside ' '..'~' escaped as Python does.
 */

import { isWellFormed } from "./bytes.js";

export type Json = null | boolean | number | bigint | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Why a document was refused; callers turn it into their own message. */
export class JsonRefused extends Error {
  constructor(
    readonly kind: "syntax" | "float" | "duplicate" | "depth" | "text",
    /** For "float": the number's text (or NaN, Infinity, -Infinity) as Python passes it. */
    readonly text = "",
  ) {
    super(kind === "float" ? `number ${text} is not an integer` : `JSON ${kind}`);
  }
}

/** Deeper than this is refused as "depth", as `encoding.MAX_DEPTH` is in Python. */
export const MAX_DEPTH = 64;
/** Where parsing stops at once (Python's RecursionError, near 1000 levels): "depth" too. */
const PARSE_DEPTH = 900;
const MAX_INT_DIGITS = 4300; // sys.get_int_max_str_digits() default

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/y;

export function parseJson(text: string): Json {
  let pos = 0;
  let deepest = 0;
  let allText = true;

  const syntax = (): never => {
    throw new JsonRefused("syntax");
  };
  const skipSpace = (): void => {
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) pos++;
      else return;
    }
  };

  const parseString = (): string => {
    // pos is just past the opening quote
    let out = "";
    let start = pos;
    for (;;) {
      if (pos >= text.length) syntax();
      const c = text.charCodeAt(pos);
      if (c === 0x22) {
        out += text.slice(start, pos);
        pos++;
        if (allText && !isWellFormed(out)) allText = false;
        return out;
      }
      if (c < 0x20) syntax(); // strict=True: no control characters inside strings
      if (c !== 0x5c) {
        pos++;
        continue;
      }
      out += text.slice(start, pos);
      const e = text[pos + 1];
      pos += 2;
      switch (e) {
        case '"': out += '"'; break;
        case "\\": out += "\\"; break;
        case "/": out += "/"; break;
        case "b": out += "\b"; break;
        case "f": out += "\f"; break;
        case "n": out += "\n"; break;
        case "r": out += "\r"; break;
        case "t": out += "\t"; break;
        case "u": {
          const hex = text.slice(pos, pos + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) syntax();
          out += String.fromCharCode(parseInt(hex, 16));
          pos += 4;
          break;
        }
        default:
          syntax();
      }
      start = pos;
    }
  };

  const parseValue = (depth: number): Json => {
    const c = text[pos];
    if (c === "{" || c === "[") {
      if (depth >= PARSE_DEPTH) throw new JsonRefused("depth");
      if (depth + 1 > deepest) deepest = depth + 1;
      pos++;
      return c === "{" ? parseObject(depth + 1) : parseArray(depth + 1);
    }
    if (c === '"') {
      pos++;
      return parseString();
    }
    if (text.startsWith("null", pos)) {
      pos += 4;
      return null;
    }
    if (text.startsWith("true", pos)) {
      pos += 4;
      return true;
    }
    if (text.startsWith("false", pos)) {
      pos += 5;
      return false;
    }
    if (text.startsWith("NaN", pos)) throw new JsonRefused("float", "NaN");
    if (text.startsWith("Infinity", pos)) throw new JsonRefused("float", "Infinity");
    if (text.startsWith("-Infinity", pos)) throw new JsonRefused("float", "-Infinity");
    NUMBER.lastIndex = pos;
    const m = NUMBER.exec(text);
    if (m === null) return syntax();
    pos += m[0].length;
    if (m[1] !== undefined || m[2] !== undefined) throw new JsonRefused("float", m[0]);
    const digits = m[0].startsWith("-") ? m[0].length - 1 : m[0].length;
    if (digits > MAX_INT_DIGITS) syntax();
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? (Object.is(n, -0) ? 0 : n) : BigInt(m[0]);
  };

  const parseObject = (depth: number): JsonObject => {
    const pairs: [string, Json][] = [];
    skipSpace();
    if (text[pos] === "}") {
      pos++;
      return finishObject(pairs);
    }
    for (;;) {
      if (text[pos] !== '"') syntax();
      pos++;
      const key = parseString();
      skipSpace();
      if (text[pos] !== ":") syntax();
      pos++;
      skipSpace();
      if (pos >= text.length) syntax();
      pairs.push([key, parseValue(depth)]);
      skipSpace();
      const c = text[pos];
      pos++;
      if (c === "}") return finishObject(pairs);
      if (c !== ",") syntax();
      skipSpace();
    }
  };

  const finishObject = (pairs: [string, Json][]): JsonObject => {
    const out: JsonObject = Object.create(null) as JsonObject;
    const seen = new Set<string>();
    for (const [k, v] of pairs) {
      if (seen.has(k)) throw new JsonRefused("duplicate");
      seen.add(k);
      out[k] = v;
    }
    return out;
  };

  const parseArray = (depth: number): Json[] => {
    const out: Json[] = [];
    skipSpace();
    if (text[pos] === "]") {
      pos++;
      return out;
    }
    for (;;) {
      if (pos >= text.length) syntax();
      out.push(parseValue(depth));
      skipSpace();
      const c = text[pos];
      pos++;
      if (c === "]") return out;
      if (c !== ",") syntax();
      skipSpace();
    }
  };

  skipSpace();
  if (pos >= text.length) syntax();
  const value = parseValue(0);
  skipSpace();
  if (pos !== text.length) syntax();
  if (deepest > MAX_DEPTH) throw new JsonRefused("depth");
  if (!allText) throw new JsonRefused("text");
  return value;
}

export function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Python's `str < str`: by code point, not by UTF-16 code unit. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i) ?? 0;
    const y = b.codePointAt(i) ?? 0;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

function quote(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) out += '\\"';
    else if (c === 0x5c) out += "\\\\";
    else if (c >= 0x20 && c <= 0x7e) out += text[i];
    else if (c === 0x0a) out += "\\n";
    else if (c === 0x0d) out += "\\r";
    else if (c === 0x09) out += "\\t";
    else if (c === 0x08) out += "\\b";
    else if (c === 0x0c) out += "\\f";
    else out += "\\u" + c.toString(16).padStart(4, "0");
  }
  return out + '"';
}

/** `json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)`. */
export function canonicalJson(value: Json): string {
  if (value === null) return "null";
  if (value === true) return "true";
  if (value === false) return "false";
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "number") {
    if (!Number.isSafeInteger(value)) throw new TypeError("canonical JSON has integers only");
    return String(value);
  }
  if (typeof value === "string") return quote(value);
  if (Array.isArray(value)) return "[" + value.map(canonicalJson).join(",") + "]";
  const keys = Object.keys(value).sort(compareCodePoints);
  return "{" + keys.map((k) => quote(k) + ":" + canonicalJson(value[k] ?? null)).join(",") + "}";
}
