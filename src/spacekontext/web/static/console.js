// Shared by every page: requests to the API with the session cookie, errors in words, and
// announcements for screen readers. No framework, no build step.

export function say(message) {
  const region = document.getElementById("announce");
  if (!region) return;
  region.textContent = "";
  window.setTimeout(() => { region.textContent = message; }, 50);
}

export function formatBytes(value) {
  if (typeof value !== "number" || !isFinite(value)) return "the limit";
  const units = ["bytes", "KB", "MB", "GB", "TB"];
  let size = value;
  let unit = 0;
  while (size >= 1024 && unit < units.length - 1) { size /= 1024; unit += 1; }
  return unit === 0 ? `${size} bytes` : `${size.toFixed(1).replace(/\.0$/, "")} ${units[unit]}`;
}

function sentence(text) {
  const trimmed = String(text).trim();
  if (!trimmed) return "";
  const first = trimmed[0].toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(first) ? first : `${first}.`;
}

// The API's error envelope turned into a sentence a person can act on.
export function messageFor(status, body) {
  const code = body && body.code;
  if (code === "upload_too_large") {
    const limit = body.details && body.details.limitBytes;
    return `The file is larger than the limit of ${formatBytes(limit)}. Nothing was stored.`;
  }
  if (code === "unsupported_file_type" && body.details && Array.isArray(body.details.allowed)) {
    return `Files of this kind are not accepted. Accepted: ${body.details.allowed.join(", ")}.`;
  }
  if (status === 404) return "That no longer exists, or it is not yours.";
  if (status === 412) return "It was changed meanwhile. Reload the page and try again.";
  if (status === 429) return "Too many requests. Wait a moment and try again.";
  if (status === 503) return "The service is unavailable for a moment. Try again shortly.";
  if (body && body.error) return sentence(body.error);
  if (status === 0) return "The server could not be reached. Check the connection and try again.";
  return `The request failed (HTTP ${status}).`;
}

function signInAgain() {
  const next = encodeURIComponent(window.location.pathname);
  window.location.assign(`/app/sign-in?reason=expired&next=${next}`);
}

export async function api(method, url, body, headers = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch {
    throw new Error(messageFor(0, null));
  }
  const data = await response.json().catch(() => null);
  if (response.status === 401) {
    signInAgain();
    throw new Error("Your session has expired. Please sign in again.");
  }
  if (!response.ok) throw new Error(messageFor(response.status, data));
  return data;
}

// A multipart upload with progress (fetch cannot report upload progress; XHR can).
export function send(url, form, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", url);
    request.withCredentials = true;
    request.setRequestHeader("Accept", "application/json");
    request.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable && onProgress) onProgress(event.loaded / event.total);
    });
    request.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(request.responseText); } catch { data = null; }
      if (request.status === 401) {
        signInAgain();
        reject(new Error("Your session has expired. Please sign in again."));
      } else if (request.status >= 200 && request.status < 300) {
        resolve({ status: request.status, data });
      } else {
        reject(new Error(messageFor(request.status, data)));
      }
    });
    request.addEventListener("error", () => reject(new Error(messageFor(0, null))));
    request.send(form);
  });
}

// A message kept across one reload (after a change the page is rendered again by the server).
export function flash(message) {
  window.sessionStorage.setItem("console-flash", message);
}

export function showFlash(element) {
  const message = window.sessionStorage.getItem("console-flash");
  if (!message || !element) return;
  window.sessionStorage.removeItem("console-flash");
  element.textContent = message;
  element.hidden = false;
}

// Text with <mark> tags from the search API (already escaped there) as DOM nodes, without
// handing any markup to innerHTML.
export function highlighted(markedText) {
  const fragment = document.createDocumentFragment();
  const decoder = document.createElement("textarea");
  markedText.split(/(<mark>|<\/mark>)/).reduce((inMark, piece) => {
    if (piece === "<mark>") return true;
    if (piece === "</mark>") return false;
    decoder.innerHTML = piece;
    const text = document.createTextNode(decoder.value);
    if (inMark) {
      const mark = document.createElement("mark");
      mark.append(text);
      fragment.append(mark);
    } else {
      fragment.append(text);
    }
    return inMark;
  }, false);
  return fragment;
}
