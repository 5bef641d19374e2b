/**
 * A person's keys: an age identity to decrypt, an Ed25519 key to sign; sealed by passphrase.
 *
 * The sealed form is what `custody keys init` writes (`crypto/keys.py`): an age scrypt file
 * (`age -d` opens it) holding
 *
 *     custody-keys/v1
 *     age: AGE-SECRET-KEY-1...
 *     ed25519: <base64 of the 32-byte seed>
 *
 * The scrypt layer is age-encryption's (the reference TypeScript age); our own strict
 * header parser checks first that the file is what Python would try to open at all.
 */

import { Decrypter, Encrypter } from "age-encryption";

import { Identity } from "./age.js";
import { Malformed, b64RawDecode, dearmor, headerEnd, isArmored, parseHeader } from "./age-format.js";
import { ascii, fromBase64Lenient, latin1, lstripAsciiSpace, startsWith, toBase64 } from "./bytes.js";
import { InvalidInput, WrongPassphrase } from "./errors.js";
import { SigningKey } from "./signing.js";

const MAGIC = "custody-keys/v1";
export const DEFAULT_WORK_FACTOR = 17;
/** A key file asking for more is refused rather than allowed to take gigabytes. */
export const MAX_WORK_FACTOR = 20;
const DECIMAL = /^[1-9][0-9]*$/;

/** One person's private keys: never leave their machine except sealed. */
export class UserKeys {
  constructor(
    readonly identity: Identity,
    readonly signingKey: SigningKey,
  ) {}

  static generate(): UserKeys {
    return new UserKeys(Identity.generate(), SigningKey.generate());
  }

  /** The `age1...` recipient others encrypt to. */
  get ageRecipient(): string {
    return this.identity.recipient.toString();
  }

  /** The Ed25519 public key, base64, as `custody keys init` registers it. */
  get signingPublic(): string {
    return this.signingKey.publicKey.toBase64();
  }

  /** The key file's plaintext. Secret. */
  toPlaintext(): Uint8Array {
    const seed = toBase64(this.signingKey.seed);
    return ascii(`${MAGIC}\nage: ${this.identity.toString()}\ned25519: ${seed}\n`);
  }

  /**
   * The keys as an age scrypt file under `passphrase` (work factor 2^17 by default, as
   * Python's: 128 MiB and about a second; run it in a worker to keep a page responsive).
   */
  async seal(passphrase: string, options: { workFactor?: number } = {}): Promise<Uint8Array> {
    if (!passphrase) throw new InvalidInput("the passphrase is empty", "choose a long passphrase");
    const workFactor = options.workFactor ?? DEFAULT_WORK_FACTOR;
    if (!Number.isInteger(workFactor) || workFactor < 10 || workFactor > MAX_WORK_FACTOR) {
      throw new InvalidInput(`the scrypt work factor must be 10..${MAX_WORK_FACTOR}`);
    }
    const encrypter = new Encrypter();
    encrypter.setPassphrase(passphrase);
    encrypter.setScryptWorkFactor(workFactor);
    return encrypter.encrypt(this.toPlaintext());
  }

  /** Open a sealed key file: {@link WrongPassphrase} or {@link InvalidInput} if not. */
  static async unseal(data: Uint8Array, passphrase: string): Promise<UserKeys> {
    const start = lstripAsciiSpace(data);
    if (!startsWith(start, ascii("age-encryption.org/")) && !startsWith(start, ascii("-----BEGIN AGE"))) {
      throw new InvalidInput("this is not a custody key file (not an age file)");
    }
    if (!passphrase) throw new InvalidInput("the passphrase is empty", "choose a long passphrase");
    let binary: Uint8Array;
    try {
      binary = isArmored(data) ? dearmor(data) : data;
      checkScryptHeader(binary);
    } catch (error) {
      if (error instanceof Malformed) throw new WrongPassphrase();
      throw error;
    }
    const decrypter = new Decrypter();
    decrypter.addPassphrase(passphrase);
    let plaintext: Uint8Array;
    try {
      plaintext = await decrypter.decrypt(binary);
    } catch {
      throw new WrongPassphrase();
    }
    return UserKeys.parse(plaintext);
  }

  /** The keys from a key file's plaintext (Python's `UserKeys._parse`). */
  static parse(plaintext: Uint8Array): UserKeys {
    const notKeys = () => new InvalidInput("this age file does not hold custody keys");
    if (plaintext.some((b) => b > 0x7f)) throw notKeys();
    const lines = latin1(plaintext).split("\n");
    if (lines.length !== 4 || lines[0] !== MAGIC || lines[3] !== "") throw notKeys();
    const [, ageLine = "", edLine = ""] = lines;
    if (!ageLine.startsWith("age: ") || !edLine.startsWith("ed25519: ")) throw notKeys();
    let seed: Uint8Array;
    try {
      seed = fromBase64Lenient(edLine.slice("ed25519: ".length));
    } catch {
      throw notKeys();
    }
    return new UserKeys(Identity.parse(ageLine.slice("age: ".length)), new SigningKey(seed));
  }
}

/**
 * The header Python's passphrase path would try: well-formed, one scrypt stanza with
 * canonical arguments and a work factor of at most 2^20. Malformed otherwise.
 */
function checkScryptHeader(binary: Uint8Array): void {
  const end = headerEnd(binary);
  if (end === null) throw new Malformed("no complete header");
  const { stanzas } = parseHeader(binary.subarray(0, end));
  const [stanza] = stanzas;
  if (stanzas.length !== 1 || stanza === undefined || stanza.type !== "scrypt") {
    throw new Malformed("not a passphrase-encrypted file");
  }
  const [, salt = "", workFactor = ""] = stanza.args;
  if (stanza.args.length !== 3 || !DECIMAL.test(workFactor) || Number(workFactor) > MAX_WORK_FACTOR) {
    throw new Malformed("bad scrypt stanza arguments");
  }
  if (b64RawDecode(salt).length !== 16 || stanza.body.length !== 32) {
    throw new Malformed("bad scrypt salt or body");
  }
}
