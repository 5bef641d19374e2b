/**
 * Bech32 (BIP 173) as age uses it for keys: `age1...` and `AGE-SECRET-KEY-1...`.
 *
 * The original checksum (not Bech32m), mixed case refused, and no 90-character limit
 * (post-quantum keys are long). A line-for-line port of `custody.crypto._bech32`.
 */

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];

export class Bech32Error extends Error {}

function polymod(values: readonly number[]): number {
  let checksum = 1;
  for (const value of values) {
    const top = checksum >>> 25;
    checksum = (((checksum & 0x1ffffff) << 5) ^ value) >>> 0;
    for (let i = 0; i < 5; i++) {
      if ((top >>> i) & 1) checksum = (checksum ^ (GENERATORS[i] ?? 0)) >>> 0;
    }
  }
  return checksum;
}

function hrpExpand(hrp: string): number[] {
  const codes = [...hrp].map((c) => c.charCodeAt(0));
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)];
}

function convertBits(data: ArrayLike<number>, from: number, to: number, pad: boolean): number[] {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  const max = (1 << to) - 1;
  for (let i = 0; i < data.length; i++) {
    acc = ((acc << from) | (data[i] ?? 0)) & 0xffffff;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & max);
    }
  }
  if (pad) {
    if (bits) out.push((acc << (to - bits)) & max);
  } else if (bits >= from || (acc << (to - bits)) & max) {
    throw new Bech32Error("non-zero or excess padding bits");
  }
  return out;
}

/** Bech32 of `data` under the human-readable part `hrp` (given in lower case). */
export function encode(hrp: string, data: Uint8Array, upper = false): string {
  const values = convertBits(data, 8, 5, true);
  const checksum = polymod([...hrpExpand(hrp), ...values, 0, 0, 0, 0, 0, 0]) ^ 1;
  for (let i = 0; i < 6; i++) values.push((checksum >>> (5 * (5 - i))) & 31);
  const text = hrp + "1" + values.map((v) => CHARSET[v]).join("");
  return upper ? text.toUpperCase() : text;
}

/** [lower-case hrp, data] of a Bech32 string; {@link Bech32Error} if it is not one. */
export function decode(text: string): [string, Uint8Array] {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 33 || c > 126) throw new Bech32Error("characters outside printable ASCII");
  }
  if (text.toLowerCase() !== text && text.toUpperCase() !== text) {
    throw new Bech32Error("mixed case");
  }
  const lower = text.toLowerCase();
  const split = lower.lastIndexOf("1");
  if (split < 1 || split + 7 > lower.length) {
    throw new Bech32Error("missing separator or checksum");
  }
  const hrp = lower.slice(0, split);
  const values: number[] = [];
  for (const c of lower.slice(split + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) throw new Bech32Error("character outside the Bech32 alphabet");
    values.push(v);
  }
  if (polymod([...hrpExpand(hrp), ...values]) !== 1) throw new Bech32Error("bad checksum");
  return [hrp, Uint8Array.from(convertBits(values.slice(0, -6), 5, 8, false))];
}
