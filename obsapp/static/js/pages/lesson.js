// The lesson page: processing state with live progress, the player once ready with its feedback panel
// (annotations.js) and clip list (lesson-clips.js), owner actions.
import { AnnotationPanel } from "../annotations.js";
import { api, announce } from "../app.js";
import "../goal-picker.js"; // "Add to a goal" (the lesson's button; annotations.js adds one per annotation)
import { ClipList } from "../lesson-clips.js";
import { LessonPlayer, installShortcuts } from "../player.js";
import { setupShareDialog } from "../share.js";
import { setupTalkStrip } from "../talk.js";

let lesson = JSON.parse(document.getElementById("lesson-data").textContent);
const stateBox = document.getElementById("lesson-state");
const playerArea = document.getElementById("player-area");
setupTalkStrip(document.getElementById("lesson-video"));
export let player = null;
export let annotations = null;
export let clips = null;

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
  if (text) node.textContent = text;
  return node;
}

function showState() {
  stateBox.innerHTML = "";
  const card = el("div", { class: `card state-${lesson.status}` });
  if (lesson.status === "awaiting_upload") {
    card.append(el("h2", {}, "Waiting for the video"));
    card.append(el("p", {}, lesson.access === "manage"
      ? "This lesson has no video yet. If an upload was interrupted, go to the upload page and choose the same file to resume it."
      : "The teacher has not uploaded the video yet."));
    if (lesson.access === "manage") card.append(el("a", { class: "button primary", href: "/lessons/new" }, "Go to the upload page"));
  } else if (lesson.status === "processing") {
    card.append(el("h2", {}, "Preparing the video"));
    card.append(el("p", {}, "The recording is being made ready for playing in the browser. This page updates by itself."));
    const bar = el("progress", { max: "100", value: "0", id: "processing-bar", "aria-label": "Processing progress" });
    const text = el("p", { id: "processing-text", class: "muted" }, "Waiting to start…");
    card.append(bar, text);
  } else if (lesson.status === "failed") {
    card.append(el("h2", {}, "The video could not be prepared"));
    card.append(el("p", { class: "flash flash-error", id: "lesson-error" }, lesson.error || "Processing failed."));
    if (lesson.access === "manage") {
      const row = el("div", { class: "row" });
      const retry = el("button", { type: "button", class: "button primary" }, "Try again");
      retry.addEventListener("click", async () => {
        retry.disabled = true;
        try { lesson = await api(`/api/v1/lessons/${lesson.id}/retry`, { method: "POST" }); update(); }
        catch (error) { announce(error.message, "error"); retry.disabled = false; }
      });
      row.append(retry);
      const upload = el("a", { class: "button", href: "/lessons/new" }, "Upload another file");
      row.append(upload);
      card.append(row);
    }
  }
  if (lesson.status === "ready" && lesson.media.anonymising) {
    card.id = "anonymising";
    card.setAttribute("role", "status");
    card.append(el("h2", {}, "This video is being anonymised"));
    card.append(el("p", {}, "Not everyone filmed in this lesson consented, so you will see it with every face blurred. "
      + "The blurred video is being made; this page shows it when it is ready. Until then the video is not shown."));
  }
  if (lesson.status !== "ready" || lesson.media.anonymising) stateBox.append(card);
}

async function poll() {
  while (lesson.status === "processing") {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    try {
      if (lesson.job_id) {
        const job = await api(`/api/v1/jobs/${lesson.job_id}`);
        const bar = document.getElementById("processing-bar");
        const text = document.getElementById("processing-text");
        if (bar) bar.value = Math.round(job.progress * 100);
        if (text) text.textContent = job.state === "queued" ? "Waiting to start…"
          : job.state === "running" ? `${Math.round(job.progress * 100)}% done` : "Finishing…";
        if (job.state !== "done" && job.state !== "failed") continue;
      }
      lesson = await api(`/api/v1/lessons/${lesson.id}`);
    } catch (error) {
      const text = document.getElementById("processing-text");
      if (text) text.textContent = `Lost contact with the server; retrying… (${error.message})`;
    }
  }
  update();
}

function showPlayer() {
  if (player) return;
  playerArea.hidden = false;
  const video = document.getElementById("lesson-video");
  player = new LessonPlayer({ video, timeline: document.getElementById("timeline"), lesson });
  const help = document.getElementById("help-dialog");
  document.getElementById("help-button").addEventListener("click", () => help.showModal());
  installShortcuts(player, { onHelp: () => help.showModal() });
  const side = document.getElementById("lesson-side");
  if (side) annotations = new AnnotationPanel({ player, lesson, side, onClipMade: () => clips && clips.refresh() });
  // On a phone the clip and reel tools start folded, below the feedback.
  const fold = document.getElementById("lesson-tools-fold");
  if (fold && window.matchMedia("(max-width: 480px)").matches) fold.open = false;
  const clipsRoot = document.getElementById("lesson-clips");
  if (clipsRoot) clips = new ClipList({ player, lesson, root: clipsRoot, annotations });
  seekToHash();
  window.addEventListener("hashchange", seekToHash);
}

// Links such as /lessons/7#t=83.5 (from the printable feedback) open the lesson at that moment.
function seekToHash() {
  const match = /^#t=(\d+(?:\.\d+)?)$/.exec(window.location.hash);
  if (match && player) player.seek(Math.round(Number(match[1]) * 1000));
}

function update() {
  showState();
  if (lesson.status === "ready" && !lesson.media.anonymising) showPlayer();
  if (lesson.status === "processing") poll();
  if (lesson.status === "ready" && lesson.media.anonymising) waitForAnonymised();
}

async function waitForAnonymised() {
  while (lesson.media.anonymising) {
    await new Promise((resolve) => setTimeout(resolve, 5000));
    try { lesson = await api(`/api/v1/lessons/${lesson.id}`); } catch (error) { /* try again */ }
  }
  update();
}

function setupEdit() {
  const dialog = document.getElementById("edit-dialog");
  const button = document.getElementById("edit-button");
  if (!dialog || !button) return;
  const form = document.getElementById("edit-form");
  const fields = { title: "edit-title-input", taught_on: "edit-taught", subject: "edit-subject", level: "edit-level", description: "edit-description" };
  button.addEventListener("click", () => {
    Object.entries(fields).forEach(([key, id]) => { document.getElementById(id).value = lesson[key] || ""; });
    document.getElementById("edit-blur").checked = !!lesson.blur_faces_default;
    document.getElementById("edit-error").hidden = true;
    dialog.showModal();
  });
  document.getElementById("edit-cancel").addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    Object.entries(fields).forEach(([key, id]) => { const v = document.getElementById(id).value.trim(); body[key] = v || null; });
    body.blur_faces_default = document.getElementById("edit-blur").checked;
    try {
      lesson = { ...lesson, ...(await api(`/api/v1/lessons/${lesson.id}`, { method: "PATCH", body })) };
      document.getElementById("lesson-title").textContent = lesson.title;
      document.title = `${lesson.title} · obsapp`;
      dialog.close();
      announce("Lesson details saved.", "success");
    } catch (error) {
      const box = document.getElementById("edit-error");
      box.textContent = error.message;
      box.hidden = false;
    }
  });
}

function setupDelete() {
  const button = document.getElementById("delete-button");
  if (!button) return;
  button.addEventListener("click", async () => {
    if (!window.confirm(`Delete "${lesson.title}" and its video for everyone? This cannot be undone.`)) return;
    try {
      await api(`/api/v1/lessons/${lesson.id}`, { method: "DELETE" });
      window.location.assign("/");
    } catch (error) { announce(error.message, "error"); }
  });
}

function setupWatchTogether() {
  const button = document.getElementById("watch-button");
  if (!button) return;
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const session = await api(`/api/v1/lessons/${lesson.id}/watch`, { method: "POST" });
      window.location.assign(session.join_url);
    } catch (error) {
      announce(error.message, "error");
      button.disabled = false;
    }
  });
}

setupShareDialog(lesson.id);
setupWatchTogether();
setupEdit();
setupDelete();
update();
