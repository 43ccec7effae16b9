// A small tus 1.0.0 client (core + creation + termination) over fetch, with resume and retries.
import { csrfToken } from "./app.js";

const TUS = "1.0.0";
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class TusError extends Error {
  constructor(message, status) { super(message); this.status = status; }
}

async function errorMessage(response) {
  try {
    const data = await response.json();
    if (data && data.error && data.error.message) return data.error.message;
  } catch (_) { /* not JSON */ }
  return `The server answered ${response.status}.`;
}

function b64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

export class TusUpload {
  /**
   * file: File; endpoint: creation URL; uploadUrl: an existing upload to resume (optional).
   * Callbacks: onProgress(sent, total), onRetry(delayMs, error), onSuccess(), onError(error), onCreated(url).
   */
  constructor(file, { endpoint, uploadUrl = null, chunkSize = 8 * 1024 * 1024, metadata = {}, ...callbacks }) {
    this.file = file;
    this.endpoint = endpoint;
    this.url = uploadUrl;
    this.chunkSize = chunkSize;
    this.metadata = metadata;
    this.cb = callbacks;
    this.offset = 0;
    this.paused = false;
    this.running = false;
    this.controller = null;
    this.maxRetryDelay = 60000;
  }

  headers(extra = {}) {
    return { "Tus-Resumable": TUS, "X-CSRFToken": csrfToken, ...extra };
  }

  async create() {
    const meta = Object.entries(this.metadata).map(([k, v]) => `${k} ${b64(String(v))}`).join(",");
    const response = await fetch(this.endpoint, {
      method: "POST", credentials: "same-origin",
      headers: this.headers({ "Upload-Length": String(this.file.size), "Upload-Metadata": meta }),
    });
    if (response.status !== 201) throw new TusError(await errorMessage(response), response.status);
    this.url = new URL(response.headers.get("Location"), window.location.href).toString();
    if (this.cb.onCreated) this.cb.onCreated(this.url);
  }

  /** Ask the server how much it has; null when the upload is gone (404/410). */
  async serverOffset() {
    const response = await fetch(this.url, { method: "HEAD", credentials: "same-origin", headers: this.headers() });
    if (response.status === 404 || response.status === 410) return null;
    if (!response.ok) throw new TusError(`The server answered ${response.status}.`, response.status);
    return Number(response.headers.get("Upload-Offset"));
  }

  async start() {
    if (this.running) return;
    this.running = true;
    this.paused = false;
    let failures = 0;
    try {
      if (!this.url) await this.create();
      else {
        const offset = await this.serverOffset();
        if (offset === null) throw new TusError("The unfinished upload expired on the server; start it again.", 410);
        this.offset = offset;
      }
      this.report();
      while (this.offset < this.file.size) {
        if (this.paused) return;
        try {
          await this.sendChunk();
          failures = 0;
        } catch (error) {
          if (this.paused) return;
          if (error instanceof TusError && error.status && error.status < 500 && error.status !== 409 && error.status !== 423) throw error;
          failures += 1;
          const delay = Math.min(this.maxRetryDelay, 1000 * 2 ** Math.min(failures - 1, 6));
          if (this.cb.onRetry) this.cb.onRetry(delay, error);
          await this.waitForRetry(delay);
          if (this.paused) return;
          try {
            const offset = await this.serverOffset();
            if (offset === null) throw new TusError("The unfinished upload expired on the server; start it again.", 410);
            this.offset = offset;
            this.report();
          } catch (headError) {
            if (headError instanceof TusError && headError.status === 410) throw headError;
          }
        }
      }
      this.running = false;
      if (this.cb.onSuccess) this.cb.onSuccess();
    } catch (error) {
      this.running = false;
      if (this.cb.onError) this.cb.onError(error);
      return;
    } finally {
      this.running = false;
    }
  }

  waitForRetry(delay) {
    // Wake early when the browser comes back online.
    return new Promise((resolve) => {
      const done = () => { clearTimeout(timer); window.removeEventListener("online", done); resolve(); };
      const timer = setTimeout(done, delay);
      window.addEventListener("online", done, { once: true });
    });
  }

  async sendChunk() {
    const end = Math.min(this.offset + this.chunkSize, this.file.size);
    const body = this.file.slice(this.offset, end);
    this.controller = new AbortController();
    const response = await fetch(this.url, {
      method: "PATCH", credentials: "same-origin", body, signal: this.controller.signal,
      headers: this.headers({ "Upload-Offset": String(this.offset), "Content-Type": "application/offset+octet-stream" }),
    });
    if (response.status !== 204) throw new TusError(await errorMessage(response), response.status);
    this.offset = Number(response.headers.get("Upload-Offset"));
    this.report();
  }

  report() {
    if (this.cb.onProgress) this.cb.onProgress(this.offset, this.file.size);
  }

  pause() {
    this.paused = true;
    if (this.controller) this.controller.abort();
  }

  async abort() {
    this.pause();
    if (this.url) {
      await fetch(this.url, { method: "DELETE", credentials: "same-origin", headers: this.headers() }).catch(() => {});
    }
  }
}
