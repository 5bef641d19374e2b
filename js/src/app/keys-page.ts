/**
 * "Your keys": unlock the key file `custody keys init` made (or one downloaded here), or
 * make keys in the browser and register them; pin the log key the person's organisation
 * gave them. Keys are accepted only if they are the ones registered, and the registration
 * is proven in the ledger against the pinned key.
 */

import { CustodyError, InvalidInput } from "../errors.js";
import { UserKeys } from "../keys.js";
import { Api, ApiError } from "./api.js";
import { forget, recall, remember } from "./keystore.js";
import { checkOwnKeys, pinLogKey, pinnedLogKey, requirePin } from "./logtrust.js";
import { csrfToken, element, person, say, serverLogKey } from "./page.js";

interface Registered {
  readonly age_recipient: string;
  readonly signing_key: string;
  readonly ledger_index: number;
}

const MIN_PASSPHRASE = 10;
const api = new Api(csrfToken());
const me = person();

function show(id: string, visible: boolean): void {
  element(id).hidden = !visible;
}

function fail(error: unknown): void {
  const text = error instanceof CustodyError ? error.diagnostics() : String(error);
  const box = element("keys-error");
  box.textContent = text;
  box.hidden = false;
}

async function registered(): Promise<Registered | null> {
  try {
    return await api.get<Registered>("/api/v1/keys");
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

function verifier() {
  const given = (element<HTMLInputElement>("log-key").value || "").trim();
  if (pinnedLogKey() === null) {
    if (!given) throw new InvalidInput("enter the log key your organisation gave you first");
    pinLogKey(given);
  }
  return requirePin(serverLogKey());
}

function shown(keys: UserKeys, index: number): void {
  element("age-recipient").textContent = keys.ageRecipient;
  element("signing-key").textContent = keys.signingPublic;
  element("key-index").textContent = String(index);
  for (const id of ["unlock-section", "create-section", "log-key-section"]) show(id, false);
  show("unlocked-section", true);
  say("keys-state", "Your keys are unlocked in this browser.");
}

async function accept(keys: UserKeys, server: Registered): Promise<void> {
  if (keys.ageRecipient !== server.age_recipient || keys.signingPublic !== server.signing_key) {
    throw new InvalidInput(
      "these are not the keys you registered last",
      "open your current key file; if you lost it, make new keys",
    );
  }
  const pinned = verifier();
  await checkOwnKeys(api, pinned, server.ledger_index, me.userId, {
    ageRecipient: keys.ageRecipient,
    signingKey: keys.signingPublic,
  });
  await remember(me.userId, keys);
  shown(keys, server.ledger_index);
}

async function unlock(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  element("keys-error").hidden = true;
  const file = element<HTMLInputElement>("key-file").files?.[0];
  const passphrase = element<HTMLInputElement>("unlock-passphrase").value;
  if (!file) throw new InvalidInput("choose your key file");
  const server = await registered();
  if (server === null) throw new InvalidInput("you have no keys registered", "make keys below");
  say("keys-state", "Unlocking… (this takes a second or two)");
  const keys = await UserKeys.unseal(new Uint8Array(await file.arrayBuffer()), passphrase);
  await accept(keys, server);
}

async function create(event: SubmitEvent): Promise<void> {
  event.preventDefault();
  element("keys-error").hidden = true;
  const passphrase = element<HTMLInputElement>("new-passphrase").value;
  if (passphrase.length < MIN_PASSPHRASE) {
    throw new InvalidInput(`a passphrase needs at least ${MIN_PASSPHRASE} characters`);
  }
  if (passphrase !== element<HTMLInputElement>("new-passphrase-again").value) {
    throw new InvalidInput("the two passphrases differ; nothing was changed");
  }
  verifier(); // pinned before anything is registered
  say("keys-state", "Making your keys… (this takes a second or two)");
  const keys = UserKeys.generate();
  const sealed = await keys.seal(passphrase);
  const link = element<HTMLAnchorElement>("key-file-link");
  link.href = URL.createObjectURL(new Blob([sealed as BlobPart], { type: "application/octet-stream" }));
  show("download-key", true);
  const server = await api.post<Registered>("/api/v1/keys", {
    age_recipient: keys.ageRecipient,
    signing_key: keys.signingPublic,
  });
  await accept(keys, server);
  say("keys-state", "Your new keys are registered and unlocked. Download your key file now.");
}

async function start(): Promise<void> {
  show("log-key-section", pinnedLogKey() === null);
  const server = await registered();
  const unlocked = await recall(me.userId);
  if (unlocked !== null && server !== null && unlocked.ageRecipient === server.age_recipient) {
    shown(unlocked, server.ledger_index);
    return;
  }
  if (unlocked !== null) await forget(); // not the registered keys any more
  show("unlock-section", server !== null);
  show("create-section", true);
  say(
    "keys-state",
    server === null
      ? "You have no keys yet: make them here (or with custody keys init)."
      : "Your keys are locked in this browser: unlock your key file.",
  );
}

function guarded(act: (event: SubmitEvent) => Promise<void>) {
  return (event: Event) => {
    act(event as SubmitEvent).catch((error: unknown) => {
      fail(error);
      say("keys-state", "");
    });
  };
}

element("unlock").addEventListener("submit", guarded(unlock));
element("create").addEventListener("submit", guarded(create));
element("lock").addEventListener("click", () => {
  forget().then(() => location.reload(), fail);
});
start().catch(fail);
