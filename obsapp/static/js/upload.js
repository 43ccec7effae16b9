// The upload page: create the lesson, then send the file with tus; resumable across reloads.
import { api, formatBytes, formatTime } from "./app.js";
import { TusUpload } from "./tus.js";

const STORE_KEY = "obsapp.uploads";
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
const chunkSize = window.OBSAPP_UPLOAD_CHUNK || 8 * 1024 * 1024;

let upload = null;
let lessonId = null;

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
    if (entry.uploadUrl) await fetch(entry.uploadUrl, { method: "DELETE", headers: { "Tus-Resumable": "1.0.0", "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content } }).catch(() => {});
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

async function startUpload(file, entry) {
  progressBox.hidden = false;
  form.hidden = true;
  document.getElementById("progress-name").textContent = file.name;
  lastSample = null;
  rate = 0;
  upload = new TusUpload(file, {
    endpoint: entry.uploadEndpoint, uploadUrl: entry.uploadUrl || null, chunkSize,
    metadata: { filename: file.name, filetype: file.type || "application/octet-stream" },
    onCreated: (url) => remember(file, { ...entry, uploadUrl: url }),
    onProgress,
    onRetry: (delay) => { text.textContent = `Connection lost. Trying again in ${Math.round(delay / 1000)} s… (nothing is lost)`; },
    onSuccess: () => {
      forget(file);
      text.textContent = "Upload complete. Preparing the video…";
      window.location.assign(`/lessons/${entry.lessonId}`);
    },
    onError: (error) => {
      showError(`The upload stopped: ${error.message}`);
      if (error.status === 410 || error.status === 404) forget(file);
      setPaused(true);
    },
  });
  setPaused(false);
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
      for (const name of ["taught_on", "subject", "level", "description"]) {
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

pauseButton.addEventListener("click", () => {
  if (!upload) return;
  if (upload.paused || !upload.running) {
    showError("");
    setPaused(false);
    upload.start();
  } else {
    upload.pause();
    setPaused(true);
    text.textContent += " · paused";
  }
});

cancelButton.addEventListener("click", async () => {
  if (!upload) return;
  if (!window.confirm("Cancel this upload? The part already sent will be deleted.")) return;
  const file = upload.file;
  await upload.abort();
  forget(file);
  if (lessonId) await api(`/api/v1/lessons/${lessonId}`, { method: "DELETE" }).catch(() => {});
  window.location.assign("/");
});

window.addEventListener("online", () => {
  if (upload && !upload.running && !upload.paused) upload.start();
});
window.addEventListener("beforeunload", (event) => {
  if (upload && upload.running) { event.preventDefault(); event.returnValue = ""; }
});

showResumeNotice();
