// Security keys: navigator.credentials.create/get between two same-origin JSON calls.
// The options and the answer travel as JSON with base64url for the binary fields.

const csrf = document.querySelector('meta[name="csrf-token"]').content;
const alert = document.querySelector("[data-webauthn-error]");

const fromB64 = (text) => {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
};

const toB64 = (buffer) =>
  btoa(String.fromCharCode(...new Uint8Array(buffer)))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");

const withIds = (list) => (list || []).map((item) => ({ ...item, id: fromB64(item.id) }));

function creationOptions(options) {
  return {
    ...options,
    challenge: fromB64(options.challenge),
    user: { ...options.user, id: fromB64(options.user.id) },
    excludeCredentials: withIds(options.excludeCredentials),
  };
}

function requestOptions(options) {
  return {
    ...options,
    challenge: fromB64(options.challenge),
    allowCredentials: withIds(options.allowCredentials),
  };
}

function credentialJSON(credential) {
  const response = credential.response;
  const json = {
    id: credential.id,
    rawId: toB64(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment || undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: toB64(response.clientDataJSON) },
  };
  if (response.attestationObject) {
    json.response.attestationObject = toB64(response.attestationObject);
    if (response.getTransports) json.response.transports = response.getTransports();
  } else {
    json.response.authenticatorData = toB64(response.authenticatorData);
    json.response.signature = toB64(response.signature);
    if (response.userHandle) json.response.userHandle = toB64(response.userHandle);
  }
  return json;
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrf },
    body: JSON.stringify(body),
  });
  const answer = await response.json();
  if (answer.error) {
    if (answer.error.next) location.assign(answer.error.next);
    throw new Error(answer.error.message);
  }
  return answer;
}

function fail(message) {
  alert.querySelector("p").textContent = message;
  alert.hidden = false;
  alert.focus?.();
}

function explain(error) {
  if (error && error.name === "NotAllowedError") {
    return "The request was cancelled or timed out. Try again.";
  }
  if (error && error.name === "InvalidStateError") {
    return "This security key is already registered. Use another one.";
  }
  return (error && error.message) || "That did not work. Try again.";
}

async function run(form) {
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  alert.hidden = true;
  try {
    const name = form.elements.name ? form.elements.name.value.trim() : undefined;
    const { options } = await post(form.dataset.optionsUrl, name ? { name } : {});
    const credential =
      form.dataset.webauthn === "register"
        ? await navigator.credentials.create({ publicKey: creationOptions(options) })
        : await navigator.credentials.get({ publicKey: requestOptions(options) });
    const answer = await post(form.dataset.verifyUrl, {
      credential: credentialJSON(credential),
      ...(name ? { name } : {}),
    });
    location.assign(answer.next);
  } catch (error) {
    fail(explain(error));
    button.disabled = false;
  }
}

for (const form of document.querySelectorAll("form[data-webauthn]")) {
  if (!window.PublicKeyCredential) {
    fail("This browser cannot use security keys. Choose another method.");
    form.querySelector("button[type=submit]").disabled = true;
    continue;
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run(form);
  });
}
