/** UTF-8 text as bytes, and back (for notes and JSON the pages handle). */

export function toUtf8Bytes(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

export function fromUtf8Bytes(bytes: Uint8Array): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
}
