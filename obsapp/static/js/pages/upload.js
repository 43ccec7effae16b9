// The upload page: create the lesson, then send the file with tus-js-client (retries, fingerprinting, resume
// from storage): an upload interrupted and restarted, even after a reload, carries on from the server's offset.
import { api, csrfToken, formatBytes, formatTime } from "../app.js";
import { Upload } from "../tus-client.js";

const STORE_KEY = "obsapp.uploads"; // file -> the lesson it is for (tus itself remembers the upload's URL)
// a smaller chunk size for networks whose proxies cap request bodies (bytes; default 8 MB)
const CHUNK_KEY = "obsapp.uploadChunkBytes";
const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000, 60000, 60000];
const form = document.getElementById("upload-form");
const fileInput = document.getElementById("file");
const dropZone = document.getElementById("drop-zone");
const chosen = document.getElementById("file-chosen");
const errorBox = document.getElementById("upload-error");
const progressBox = document.getElementById("upload-progress");
const bar = document.getElementById("progress-bar");
const text = document.getElementById("progress-text");
const pauseButton = document.getElementById("pause-button");
const cancelButton = document.getElementById("cancel-button");
const resumeNotice = document.getElementById("resume-notice");
const chunkSize = Number(localStorage.getItem(CHUNK_KEY)) || 8 * 1024 * 1024;

let upload = null;
let uploadFile = null;
let lessonId = null;
let state = "idle"; // idle | running | paused | failed | done

const fileKey = (file) => `${file.name}|${file.size}|${file.lastModified}`;
const saved = () => { try { return JSON.parse(localStorage.getItem(STORE_KEY) || "{}"); } catch (_) { return {}; } };
const save = (all) => localStorage.setItem(STORE_KEY, JSON.stringify(all));
function remember(file, entry) { const all = saved(); all[fileKey(file)] = { ...entry, name: file.name, size: file.size }; save(all); }
function forget(file) { const all = saved(); delete all[fileKey(file)]; save(all); }

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = !message;
  if (message) errorBox.focus?.();
}

function showResumeNotice() {
  const entries = Object.entries(saved());
  if (!entries.length) { resumeNotice.hidden = true; return; }
  const [key, entry] = entries[0];
  document.getElementById("resume-text").textContent =
    `You have an unfinished upload of "${entry.name}" (${formatBytes(entry.size)}) for the lesson "${entry.title}". ` +
    "Choose the same file again to carry on where it stopped.";
  resumeNotice.hidden = false;
  document.getElementById("resume-discard").onclick = async () => {
    const all = saved();
    delete all[key];
    save(all);
    if (entry.uploadUrl) await fetch(entry.uploadUrl, { method: "DELETE", headers: { "Tus-Resumable": "1.0.0", "X-CSRFToken": csrfToken } }).catch(() => {});
    if (entry.lessonId) await api(`/api/v1/lessons/${entry.lessonId}`, { method: "DELETE" }).catch(() => {});
    showResumeNotice();
  };
}

function describeFile(file) {
  if (!file) { chosen.textContent = ""; return; }
  const entry = saved()[fileKey(file)];
  chosen.textContent = `${file.name} · ${formatBytes(file.size)}` + (entry ? " · will resume the unfinished upload" : "");
  const title = document.getElementById("title");
  if (entry && !title.value) title.value = entry.title;
  if (!title.value) title.value = file.name.replace(/\.[^.]+$/, "").replace(/[_-]+/g, " ");
}

fileInput.addEventListener("change", () => describeFile(fileInput.files[0]));
["dragenter", "dragover"].forEach((type) => dropZone.addEventListener(type, (event) => {
  event.preventDefault();
  dropZone.classList.add("dragging");
}));
["dragleave", "drop"].forEach((type) => dropZone.addEventListener(type, () => dropZone.classList.remove("dragging")));
dropZone.addEventListener("drop", (event) => {
  event.preventDefault();
  if (event.dataTransfer.files.length) {
    fileInput.files = event.dataTransfer.files;
    describeFile(fileInput.files[0]);
  }
});

// Speed: an exponentially smoothed rate from progress events.
let lastSample = null;
let rate = 0;
function onProgress(sent, total) {
  const now = performance.now();
  if (lastSample && now > lastSample.t) {
    const instant = (sent - lastSample.sent) / ((now - lastSample.t) / 1000);
    if (instant >= 0) rate = rate ? rate * 0.7 + instant * 0.3 : instant;
  }
  lastSample = { t: now, sent };
  const percent = total ? Math.floor((sent / total) * 100) : 0;
  bar.value = percent;
  bar.setAttribute("aria-valuetext", `${percent}%`);
  let line = `${percent}% · ${formatBytes(sent)} of ${formatBytes(total)}`;
  if (rate > 0 && sent < total) line += ` · ${formatBytes(rate)}/s · about ${formatTime(((total - sent) / rate) * 1000)} left`;
  text.textContent = line;
}

function setPaused(paused) {
  pauseButton.textContent = paused ? "Resume" : "Pause";
  pauseButton.setAttribute("aria-pressed", String(paused));
}

/** The server's own words from a tus error (its JSON error message), else the client's. */
function errorText(error) {
  const response = error && error.originalResponse;
  if (response) {
    try {
      const data = JSON.parse(response.getBody());
      if (data && data.error && data.error.message) return data.error.message;
    } catch (_) { /* not JSON */ }
    return `The server answered ${response.getStatus()}.`;
  }
  return "The connection to the server was lost.";
}

function statusOf(error) {
  return error && error.originalResponse ? error.originalResponse.getStatus() : 0;
}

async function startUpload(file, entry) {
  progressBox.hidden = false;
  form.hidden = true;
  document.getElementById("progress-name").textContent = file.name;
  lastSample = null;
  rate = 0;
  uploadFile = file;
  upload = new Upload(file, {
    endpoint: entry.uploadEndpoint,
    chunkSize,
    retryDelays: RETRY_DELAYS,
    headers: { "X-CSRFToken": csrfToken },
    metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    onUploadUrlAvailable: () => remember(file, { ...entry, uploadUrl: upload.url }),
    onProgress,
    onShouldRetry: (error, attempt) => {
      const status = statusOf(error);
      const retry = !status || status >= 500 || status === 409 || status === 423;
      if (retry) {
        const delay = RETRY_DELAYS[attempt] || 0;
        text.textContent = `Connection lost. Trying again${delay ? ` in ${Math.round(delay / 1000)} s` : ""}… (nothing is lost)`;
      }
      return retry;
    },
    onSuccess: () => {
      state = "done";
      forget(file);
      text.textContent = "Upload complete. Preparing the video…";
      window.location.assign(`/lessons/${entry.lessonId}`);
    },
    onError: (error) => {
      state = "failed";
      showError(`The upload stopped: ${errorText(error)}`);
      if ([404, 410].includes(statusOf(error))) forget(file);
      setPaused(true);
    },
  });
  const previous = await upload.findPreviousUploads();
  if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
  run();
}

function run() {
  showError("");
  setPaused(false);
  state = "running";
  upload.start();
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  showError("");
  const file = fileInput.files[0];
  const title = document.getElementById("title").value.trim();
  if (!file) { showError("Choose the lesson's video file."); fileInput.focus(); return; }
  if (!title) { showError("Give the lesson a title."); document.getElementById("title").focus(); return; }
  if (file.size === 0) { showError("That file is empty (0 bytes). Choose the lesson's video file."); return; }
  const button = document.getElementById("upload-button");
  button.disabled = true;
  try {
    let entry = saved()[fileKey(file)];
    if (entry) {
      const lesson = await api(`/api/v1/lessons/${entry.lessonId}`).catch(() => null);
      if (!lesson || !lesson.upload_url) { forget(file); entry = null; }
    }
    if (!entry) {
      const body = { title };
      for (const name of ["taught_on", "subject", "level", "description", "consent"]) {
        const value = document.getElementById(name).value.trim();
        if (value) body[name] = value;
      }
      const lesson = await api("/api/v1/lessons", { method: "POST", body });
      entry = { lessonId: lesson.id, uploadEndpoint: lesson.upload_url, title };
      remember(file, entry);
    }
    lessonId = entry.lessonId;
    await startUpload(file, entry);
  } catch (error) {
    showError(error.message);
    button.disabled = false;
  }
});

pauseButton.addEventListener("click", async () => {
  if (!upload) return;
  if (state === "running") {
    state = "paused";
    setPaused(true);
    await upload.abort();
    text.textContent += " · paused";
  } else if (state === "paused" || state === "failed") {
    run();
  }
});

cancelButton.addEventListener("click", async () => {
  if (!upload) return;
  if (!window.confirm("Cancel this upload? The part already sent will be deleted.")) return;
  state = "idle";
  await upload.abort(true).catch(() => {}); // true: and delete what the server has
  forget(uploadFile);
  if (lessonId) await api(`/api/v1/lessons/${lessonId}`, { method: "DELETE" }).catch(() => {});
  window.location.assign("/");
});

window.addEventListener("online", () => {
  if (upload && state === "failed") run(); // gave up while offline: carry on now
});
window.addEventListener("beforeunload", (event) => {
  if (state === "running") { event.preventDefault(); event.returnValue = ""; }
});

showResumeNotice();
