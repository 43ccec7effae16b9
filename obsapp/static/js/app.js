// Shared helpers for obsapp pages: JSON API calls with the CSRF token, and small DOM utilities.
const csrfMeta = document.querySelector('meta[name="csrf-token"]');
export const csrfToken = csrfMeta ? csrfMeta.content : "";

export class ApiError extends Error {
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields || null;
  }
}

/** Call the JSON API; throws ApiError with the contract's error message on failure. */
export async function api(path, { method = "GET", body, headers = {}, signal } = {}) {
  const init = { method, headers: { Accept: "application/json", ...headers }, credentials: "same-origin", signal };
  if (method !== "GET" && method !== "HEAD") init.headers["X-CSRFToken"] = csrfToken;
  if (body !== undefined && !(body instanceof FormData)) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  } else if (body !== undefined) {
    init.body = body;
  }
  const response = await fetch(path, init);
  if (response.status === 204) return null;
  const type = response.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const err = (data && data.error) || {};
    throw new ApiError(response.status, err.code || "error", err.message || `Request failed (${response.status}).`, err.fields);
  }
  return data;
}

/** h("tag", {attr: value, onclick: fn}, ...children): a DOM element; null/false attributes and children are left out. */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export function formatTime(ms) {
  const total = Math.max(0, Math.floor((ms || 0) / 1000));
  const h = Math.floor(total / 3600), m = Math.floor((total % 3600) / 60), s = total % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0"), ss = String(s).padStart(2, "0");
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatBytes(n) {
  if (!Number.isFinite(n)) return "";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i += 1; }
  return `${n.toFixed(n < 10 && i ? 1 : 0)} ${units[i]}`;
}

/** Show a short message as a toast in the page's one polite live region (#live-region in base.html), which
 * floats over the page so nothing moves. Errors stay until closed; other messages fade after a few seconds. */
export function announce(text, kind = "info") {
  const region = document.getElementById("live-region");
  if (!region) return;
  const close = h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss message" }, "×");
  const toast = h("p", { class: `flash flash-${kind} toast` }, h("span", {}, text), close);
  const remove = () => toast.remove();
  close.addEventListener("click", remove);
  region.append(toast);
  while (region.children.length > 3) region.firstElementChild.remove();
  if (kind !== "error") setTimeout(remove, 5000);
}
