/** The user key file: sealed by age-encryption, opened under Python's rules. */

import assert from "node:assert/strict";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { Encrypter } from "age-encryption";

import { DecryptionFailed, armor, decryptWithPassphrase, encryptWithPassphrase } from "../src/age.js";
import { ascii, fromBase64Strict } from "../src/bytes.js";
import { InvalidInput, WrongPassphrase } from "../src/errors.js";
import { UserKeys } from "../src/keys.js";
import { VerifyKey } from "../src/signing.js";
import { loadAgeVector, vectorsDir } from "./support.js";

test("keys seal and unseal; the public forms are what custody registers", async () => {
  const keys = UserKeys.generate();
  const sealed = await keys.seal("correct horse battery staple", { workFactor: 10 });
  assert.equal(new TextDecoder().decode(sealed.subarray(0, 22)), "age-encryption.org/v1\n");
  assert.match(new TextDecoder().decode(sealed.subarray(0, 200)), /\n-> scrypt [A-Za-z0-9+/]{22} 10\n/);
  const opened = await UserKeys.unseal(sealed, "correct horse battery staple");
  assert.equal(opened.ageRecipient, keys.ageRecipient);
  assert.equal(opened.signingPublic, keys.signingPublic);
  assert.equal(opened.identity.toString(), keys.identity.toString());
  assert.match(keys.ageRecipient, /^age1[0-9a-z]{58}$/);
  assert.equal(fromBase64Strict(keys.signingPublic).length, 32);
  // The plaintext is the documented layout, and our own age path opens it too.
  const plaintext = await decryptWithPassphrase(sealed, "correct horse battery staple");
  assert.match(new TextDecoder().decode(plaintext), /^custody-keys\/v1\nage: AGE-SECRET-KEY-1[0-9A-Z]{58}\ned25519: [A-Za-z0-9+/]{43}=\n$/);
  // Signatures by the unsealed key verify with the registered public key.
  const signature = opened.signingKey.sign(ascii("m"));
  VerifyKey.fromBase64(keys.signingPublic).verify(signature, ascii("m"));
  // Armored key files open as well (Python dearmors them).
  assert.equal((await UserKeys.unseal(armor(sealed), "correct horse battery staple")).ageRecipient, keys.ageRecipient);
});

test("a wrong passphrase, a non-age file, an empty passphrase and a too-costly file are refused", async () => {
  const keys = UserKeys.generate();
  const sealed = await keys.seal("right", { workFactor: 10 });
  await assert.rejects(UserKeys.unseal(sealed, "wrong"), WrongPassphrase);
  await assert.rejects(UserKeys.unseal(ascii("not an age file"), "right"), /not a custody key file/);
  await assert.rejects(UserKeys.unseal(sealed, ""), /passphrase is empty/);
  await assert.rejects(keys.seal(""), InvalidInput);
  const flipped = sealed.slice();
  flipped[flipped.length - 1] = (flipped[flipped.length - 1] ?? 0) ^ 1;
  await assert.rejects(UserKeys.unseal(flipped, "right"), WrongPassphrase);
  // Work factor 21 is more than a key file may ask for: refused before deriving anything.
  const costly = new TextDecoder().decode(sealed).replace(/ 10\n/, " 21\n");
  await assert.rejects(UserKeys.unseal(ascii(costly), "right"), WrongPassphrase);
  // A passphrase file that is not a key file: the right passphrase, then "not keys".
  const other = await encryptWithPassphrase(ascii("hello\n"), "right", { workFactor: 10 });
  await assert.rejects(UserKeys.unseal(other, "right"), /does not hold custody keys/);
  // A key file written by another tool (age-encryption, default layout) opens.
  const encrypter = new Encrypter();
  encrypter.setPassphrase("p");
  encrypter.setScryptWorkFactor(10);
  const foreign = await encrypter.encrypt(keys.toPlaintext());
  assert.equal((await UserKeys.unseal(foreign, "p")).signingPublic, keys.signingPublic);
});

test("the key file's plaintext is parsed as Python's UserKeys._parse", () => {
  const good = UserKeys.generate().toPlaintext();
  const text = new TextDecoder().decode(good);
  assert.ok(UserKeys.parse(good));
  for (const bad of [
    text.replace("custody-keys/v1", "custody-keys/v2"),
    text + "extra\n",
    text.slice(0, -1),
    text.replace("age: ", "age:"),
    text.replace("ed25519: ", "ed25519:"),
    text.replace(/ed25519: .*\n/, "ed25519: !!\n"),
  ]) {
    assert.throws(() => UserKeys.parse(ascii(bad)), InvalidInput, JSON.stringify(bad));
  }
  assert.throws(() => UserKeys.parse(ascii(text.replace(/ed25519: .*\n/, "ed25519: AAAA\n"))), /seed is 32 bytes/);
});

test("every scrypt CCTV vector: the key-file path refuses exactly what our age path refuses", async () => {
  const dir = path.join(vectorsDir(), "age-cctv");
  assert.ok(existsSync(dir), `no vectors at ${dir}`);
  const files = readdirSync(dir).filter((f) => f.startsWith("scrypt") || f === "armor_scrypt");
  assert.ok(files.length > 20);
  for (const file of files) {
    const v = loadAgeVector(path.join(dir, file));
    for (const passphrase of v.passphrases) {
      let ours: "ok" | "refused";
      try {
        await decryptWithPassphrase(v.body, passphrase, { maxWorkFactor: 20 });
        ours = "ok";
      } catch (error) {
        assert.ok(error instanceof DecryptionFailed);
        ours = "refused";
      }
      // A vector's plaintext is not a key file: "opened" shows as "does not hold custody keys".
      const keyPath = await UserKeys.unseal(v.body, passphrase).then(
        () => "keys",
        (error: unknown) => (error instanceof WrongPassphrase ? "refused" : error instanceof InvalidInput ? "ok" : "bug"),
      );
      assert.equal(keyPath, ours, `${file} with ${JSON.stringify(passphrase)}`);
    }
  }
});
