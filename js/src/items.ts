/**
 * The two-layer scheme: content is encrypted to a per-item key, which is wrapped per reader.
 *
 * A wrap is an age file, readable by one reader, whose plaintext is the item key's identity
 * string and a newline, so `age -d -i reader.txt wrap.age > item.key` gives an identity
 * file the `age` tool accepts (docs/formats.md, "Key wraps"). As `custody.crypto.items`.
 */

import { Identity, type Recipient, decrypt, encrypt } from "./age.js";
import { ascii, latin1 } from "./bytes.js";
import { DecryptionFailed } from "./errors.js";

/** A fresh X25519 identity that one item's content is encrypted to. */
export function newItemKey(): Identity {
  return Identity.generate();
}

/** An age file, readable by `reader`, whose plaintext is the item key and a newline. */
export function wrap(itemKey: Identity, reader: Recipient): Uint8Array {
  return encrypt(ascii(itemKey.toString() + "\n"), [reader]);
}

/** The item key inside `wrapped`; {@link DecryptionFailed} if it is not for `identity`. */
export async function unwrap(wrapped: Uint8Array, identity: Identity): Promise<Identity> {
  const plaintext = await decrypt(wrapped, [identity]);
  if (plaintext.some((b) => b > 0x7f)) throw new DecryptionFailed("the wrap holds no item key");
  try {
    return Identity.parse(latin1(plaintext));
  } catch {
    // It authenticated, so this is a well-formed age file holding something else.
    throw new DecryptionFailed("the wrap holds no item key");
  }
}
