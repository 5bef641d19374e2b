// custody web application: security keys (WebAuthn). The only script; no inline code (CSP).
"use strict";

(function () {
  function fromB64url(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  }

  function toB64url(buffer) {
    let raw = "";
    new Uint8Array(buffer).forEach((b) => { raw += String.fromCharCode(b); });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map((c) => Object.assign({}, c, { id: fromB64url(c.id) }));
  }

  function show(message) {
    const box = document.getElementById("key-message");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  // A form-encoded POST to our own origin; the CSRF token travels as a field.
  async function post(url, fields) {
    const response = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(fields),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = data.error || {};
      throw new Error([error.message, error.hint].filter(Boolean).join(". ") || "refused");
    }
    return data;
  }

  // A credential as the server reads it (WebAuthn's JSON form): bytes as base64url, and
  // besides the client data, the fields of its kind of response.
  function credentialJSON(cred, fields) {
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      response: Object.assign({ clientDataJSON: toB64url(cred.response.clientDataJSON) }, fields),
      clientExtensionResults: cred.getClientExtensionResults(),
    };
  }

  function assertionJSON(cred) {
    const r = cred.response;
    return credentialJSON(cred, {
      authenticatorData: toB64url(r.authenticatorData),
      signature: toB64url(r.signature),
      userHandle: r.userHandle ? toB64url(r.userHandle) : null,
    });
  }

  function attestationJSON(cred) {
    const r = cred.response;
    return credentialJSON(cred, {
      attestationObject: toB64url(r.attestationObject),
      transports: r.getTransports ? r.getTransports() : [],
    });
  }

  async function signInWithKey(button) {
    const form = button.form;
    const fields = {
      csrf: form.elements.csrf.value,
      email: form.elements.email.value,
      password: form.elements.password.value,
    };
    const options = await post(button.dataset.options, fields);
    options.challenge = fromB64url(options.challenge);
    options.allowCredentials = descriptors(options.allowCredentials);
    const cred = await navigator.credentials.get({ publicKey: options });
    const done = await post(button.dataset.finish, {
      csrf: fields.csrf,
      credential: JSON.stringify(assertionJSON(cred)),
    });
    window.location.assign(done.next);
  }

  async function addKey(form) {
    const csrf = form.elements.csrf.value;
    const options = await post(form.dataset.options, { csrf: csrf });
    options.challenge = fromB64url(options.challenge);
    options.user.id = fromB64url(options.user.id);
    options.excludeCredentials = descriptors(options.excludeCredentials);
    const cred = await navigator.credentials.create({ publicKey: options });
    const done = await post(form.dataset.finish, {
      csrf: csrf,
      label: form.elements.label.value,
      credential: JSON.stringify(attestationJSON(cred)),
    });
    window.location.assign(done.next);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const useKey = document.getElementById("use-key");
    if (useKey) {
      useKey.addEventListener("click", () => {
        signInWithKey(useKey).catch((e) => show("The security key did not sign you in: " + e.message));
      });
    }
    const addForm = document.getElementById("add-key");
    if (addForm) {
      addForm.addEventListener("submit", (event) => {
        event.preventDefault();
        addKey(addForm).catch((e) => show("The security key was not added: " + e.message));
      });
    }
  });
})();
