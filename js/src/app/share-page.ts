/**
 * "Share onward", the confirmation step: the server has checked the reader and the expiry
 * (`web/transfer_pages.py`); on "Share", this script does what `custody share` does on the
 * holder's machine (`sharing.ts`): opens the holder's wrap with their unlocked keys, proves
 * the reader's key in the ledger, wraps the item key for it and posts only the wrap. Any
 * failure is shown in the CLI's words, and nothing is posted.
 */

import { CustodyError } from "../errors.js";
import { Api } from "./api.js";
import { recall } from "./keystore.js";
import { requirePin } from "./logtrust.js";
import { csrfToken, element, pageData, person, say, serverLogKey } from "./page.js";
import { shareItem } from "./sharing.js";

interface SharePageData {
  readonly item: string;
  readonly email: string;
  readonly expires: string | null;
  readonly until: string;
}

const data = pageData<SharePageData>();
const me = person();
const api = new Api(csrfToken());
const button = element<HTMLButtonElement>("share-button");

function fail(error: unknown): void {
  const box = element("share-error");
  box.textContent = error instanceof CustodyError ? error.diagnostics() : String(error);
  box.hidden = false;
  say("share-state", "Nothing was shared.");
  button.disabled = false;
}

async function share(): Promise<void> {
  button.disabled = true;
  element("share-error").hidden = true;
  const keys = await recall(me.userId);
  if (keys === null) {
    element("share-keys").hidden = false;
    say("share-state", "Nothing was shared.");
    button.disabled = false;
    return;
  }
  say("share-state", `Checking ${data.email}'s key in the custody ledger…`);
  const verifier = requirePin(serverLogKey());
  const done = await shareItem(api, verifier, keys, data.item, data.email, data.expires);
  say("share-state", "");
  element("share-confirm").hidden = true;
  element("share-done-text").textContent =
    `Shared item ${done.item} with ${done.reader} ${data.until}. ` +
    "They can receive it in the browser or with custody receive; the custody ledger records it.";
  element("share-done").hidden = false;
  element("share-done").focus();
}

button.addEventListener("click", () => {
  share().catch(fail);
});
// The page renders the button disabled: a click before this script has run would do nothing.
button.disabled = false;
