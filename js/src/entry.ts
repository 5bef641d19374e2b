/**
 * The custody ledger entry, version 1 (`ledger/entry.py`): one event as canonical JSON.
 *
 * Decoding is strict and accepts only the canonical form, so one event has one leaf hash;
 * every check and message follows Python's `Entry.from_bytes`, in the same order.
 */

import { isAscii, latin1 } from "./bytes.js";
import { InvalidInput } from "./errors.js";
import { type Json, type JsonObject, JsonRefused, canonicalJson, isObject, parseJson } from "./json.js";

export const VERSION = 1;
export const MAX_ENTRY_SIZE = 0xffff; // tlog-tiles entry bundles use a uint16 length prefix
// Whole strings, as Python's `fullmatch` (a JavaScript `$` never matches before a newline).
const TYPE_PATTERN = /^[a-z]+(:[a-z_]+)+$/;
const TIME_PATTERN = /^([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})\.([0-9]{6})Z$/;
const HEX64 = /^[0-9a-f]{64}$/;
const KEYS = ["actor", "case", "data", "item", "prev", "time", "transfer", "type", "v"];
const INT_LIMIT = 1n << 63n; // JSON integers stay within a signed 64-bit range for every reader

/** The previous entry of the same item: its index and hex leaf hash. */
export interface PrevRef {
  readonly index: number | bigint;
  readonly leaf: string;
}

export interface Entry {
  readonly type: string;
  /** Server time, `YYYY-MM-DDTHH:MM:SS.ffffffZ`. */
  readonly time: string;
  readonly actor: string;
  readonly case: string | null;
  readonly transfer: string | null;
  readonly item: string | null;
  readonly prev: PrevRef | null;
  readonly data: JsonObject;
}

function repr(value: Json | undefined): string {
  if (value === undefined || value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "string") return reprString(value);
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
}

/** Python's `repr(str)` for the characters an entry's text can hold: quotes chosen as Python
 * chooses them; backslash, quote, tab, newline and return escaped; other C0 and C1 controls
 * and DEL as `\xNN`; lone surrogates as `\uNNNN`. (Other non-printable characters, which
 * Python also escapes, are left as they are.) */
function reprString(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const c of text) {
    const code = c.codePointAt(0) as number;
    if (c === "\\" || c === quote) out += `\\${c}`;
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (c === "\t") out += "\\t";
    else if (code < 0x20 || (code >= 0x7f && code <= 0xa0)) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code >= 0xd800 && code <= 0xdfff) out += `\\u${code.toString(16)}`; // a lone half
    else out += c;
  }
  return out + quote;
}

const pyList = (names: readonly string[]) => `[${names.map((n) => `'${n}'`).join(", ")}]`;
const codePoints = (text: string) => [...text].length;

function parseTime(value: Json | undefined): string {
  const m = typeof value === "string" ? TIME_PATTERN.exec(value) : null;
  if (typeof value !== "string" || m === null) throw new InvalidInput("entry time is YYYY-MM-DDTHH:MM:SS.ffffffZ");
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const days = [31, year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
  const valid =
    year >= 1 && month >= 1 && month <= 12 && day >= 1 &&
    day <= (days[month - 1] ?? 0) && hour <= 23 && minute <= 59 && second <= 59;
  if (!valid) throw new InvalidInput(`entry time '${value}' is not a date`);
  return value;
}

function formatTime(value: string): string {
  // strftime("%Y") on glibc does not pad years before 1000: such a time is not canonical.
  const year = Number(value.slice(0, 4));
  return String(year) + value.slice(4);
}

function parsePrev(value: Json | undefined): PrevRef | null {
  if (value === null || value === undefined) return null;
  const keys = isObject(value) ? Object.keys(value).sort() : [];
  if (!isObject(value) || keys.length !== 2 || keys[0] !== "index" || keys[1] !== "leaf") {
    throw new InvalidInput('entry prev is null or {"index": N, "leaf": hex}');
  }
  const index = value["index"];
  const leaf = value["leaf"];
  if (!(typeof index === "number" || typeof index === "bigint") || index < 0) {
    throw new InvalidInput("prev.index is a non-negative integer");
  }
  if (typeof leaf !== "string" || !HEX64.test(leaf)) throw new InvalidInput("prev.leaf is 64 lowercase hex digits");
  return { index, leaf };
}

function checkJson(value: Json, where: string): void {
  if (value === null || typeof value === "string" || typeof value === "boolean") return;
  if (typeof value === "number" || typeof value === "bigint") {
    const n = BigInt(value);
    if (n < -INT_LIMIT || n >= INT_LIMIT) throw new InvalidInput(`${where}: integer outside the signed 64-bit range`);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((item, i) => checkJson(item, `${where}[${i}]`));
    return;
  }
  for (const [key, item] of Object.entries(value)) checkJson(item, `${where}.${key}`);
}

function optionalId(value: Json | undefined, name: string): string | null {
  if (value === null) return null;
  if (typeof value !== "string" || !value || codePoints(value) > 128) {
    throw new InvalidInput(`${name} is null or a non-empty id of at most 128 characters`);
  }
  return value;
}

/** The entry as Python's `to_json()` gives it (and so `to_bytes()` writes it). */
export function entryToJson(entry: Entry): JsonObject {
  return {
    v: VERSION,
    type: entry.type,
    time: formatTime(entry.time),
    actor: entry.actor,
    case: entry.case,
    transfer: entry.transfer,
    item: entry.item,
    prev: entry.prev === null ? null : { index: entry.prev.index, leaf: entry.prev.leaf },
    data: entry.data,
  };
}

/** Strictly decode canonical v1 entry bytes; {@link InvalidInput} otherwise. */
export function parseEntry(raw: Uint8Array): Entry {
  const text = latin1(raw);
  let obj: Json;
  try {
    if (!isAscii(text)) throw new Error("'ascii' codec can't decode the entry");
    obj = parseJson(text);
  } catch (error) {
    const why =
      error instanceof JsonRefused ? error.message : error instanceof Error ? error.message : String(error);
    throw new InvalidInput(`entry is not canonical JSON: ${why}`);
  }
  if (!isObject(obj)) throw new InvalidInput("entry is a JSON object");
  if (obj["v"] !== VERSION) {
    throw new InvalidInput(`entry version ${repr(obj["v"])} is not supported (expected 1)`);
  }
  const keys = Object.keys(obj).sort();
  if (keys.length !== KEYS.length || keys.some((k, i) => k !== KEYS[i])) {
    throw new InvalidInput(`entry keys are ${pyList(KEYS)}, not ${pyList(keys)}`);
  }
  const type = obj["type"];
  const time = parseTime(obj["time"]);
  const prev = parsePrev(obj["prev"]);
  const data = obj["data"];
  if (!isObject(data)) throw new InvalidInput("entry data is an object");
  if (typeof type !== "string" || !TYPE_PATTERN.test(type)) {
    throw new InvalidInput(`entry type ${repr(type)} is not a tag like 'item:sealed'`);
  }
  const actor = obj["actor"];
  if (typeof actor !== "string" || !actor || codePoints(actor) > 128) {
    throw new InvalidInput("entry actor is a user id or 'system'");
  }
  const entry: Entry = {
    type,
    time,
    actor,
    case: optionalId(obj["case"], "case"),
    transfer: optionalId(obj["transfer"], "transfer"),
    item: optionalId(obj["item"], "item"),
    prev,
    data,
  };
  if (entry.prev !== null && entry.item === null) throw new InvalidInput("an entry without an item has no prev");
  checkJson(data, "data");
  const canonical = canonicalJson(entryToJson(entry));
  if (canonical.length > MAX_ENTRY_SIZE) {
    throw new InvalidInput(`an entry is at most ${MAX_ENTRY_SIZE} bytes (tlog-tiles)`);
  }
  if (canonical !== text) throw new InvalidInput("entry is not in canonical form");
  return entry;
}
