// The clip and reel pages: playing marks feedback watched, "Reflect" replies on the annotation,
// "Mark as reviewed", and for senders who received it and what they did.
import { api, announce } from "../app.js";
import { renderSendForm, waitForItem } from "../clips.js";

const data = JSON.parse(document.getElementById("clip-data").textContent);
const kind = data.clip ? "clip" : "reel";
const item = data.clip || data.reel;
const video = document.getElementById("clip-video");

function when(value) {
  if (!value) return null;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
}

// --- recipients --------------------------------------------------------------------------------------------
let delivery = item.delivery;
const stateText = document.getElementById("delivery-state");
const reviewButton = document.getElementById("mark-reviewed");

function showDelivery() {
  if (!stateText || !delivery) return;
  if (delivery.reviewed_at) stateText.textContent = `You marked it reviewed on ${when(delivery.reviewed_at)}.`;
  else if (delivery.watched_at) stateText.textContent = `Watched on ${when(delivery.watched_at)}.`;
  else stateText.textContent = "Not watched yet.";
  if (reviewButton) {
    reviewButton.disabled = !!delivery.reviewed_at;
    reviewButton.textContent = delivery.reviewed_at ? "Reviewed" : "Mark as reviewed";
  }
}
showDelivery();

if (video && delivery) {
  video.addEventListener("playing", async () => {
    if (delivery.watched_at) return;
    try {
      delivery = await api(`/api/v1/${kind}s/${item.id}/watched`, { method: "POST" });
      showDelivery();
    } catch (err) {
      announce(err.message, "error");
    }
  });
}

if (reviewButton) {
  reviewButton.addEventListener("click", async () => {
    reviewButton.disabled = true;
    try {
      delivery = await api(`/api/v1/${kind}s/${item.id}/reviewed`, { method: "POST" });
      showDelivery();
      announce("Marked as reviewed.", "success");
    } catch (err) {
      reviewButton.disabled = false;
      announce(err.message, "error");
    }
  });
}

// --- reflections: replies on the annotation ------------------------------------------------------------
const reflectForm = document.getElementById("reflect-form");
const reflections = document.getElementById("reflections");

function renderReplies(replies) {
  if (!reflections) return;
  reflections.replaceChildren(...replies.map((reply) => {
    const li = document.createElement("li");
    const who = reply.author ? reply.author.name : "";
    const text = document.createElement("p");
    text.textContent = reply.body;
    const meta = document.createElement("p");
    meta.className = "muted";
    meta.textContent = [who, when(reply.created_at)].filter(Boolean).join(" · ");
    li.append(text, meta);
    return li;
  }));
}

async function loadReplies() {
  if (!reflections || !item.annotation_id) return;
  try {
    const page = await api(`/api/v1/annotations/${item.annotation_id}/replies`);
    renderReplies(page.items || page);
  } catch (err) {
    // Replies may not be readable (e.g. the annotation was deleted): the form still explains on submit.
  }
}

if (reflectForm) {
  loadReplies();
  reflectForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const box = reflectForm.querySelector("textarea");
    const body = box.value.trim();
    if (!body) return;
    const button = reflectForm.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      await api(`/api/v1/annotations/${item.annotation_id}/replies`, { method: "POST", body: { body } });
      box.value = "";
      announce("Your reflection was saved.", "success");
      await loadReplies();
    } catch (err) {
      announce(err.message, "error");
    } finally {
      button.disabled = false;
    }
  });
}

// --- senders: send, and who watched ------------------------------------------------------------------------
const deliveriesBox = document.getElementById("deliveries");

async function loadDeliveries() {
  if (!deliveriesBox) return;
  let rows;
  try {
    rows = (await api(`/api/v1/${kind}s/${item.id}/deliveries`)).items;
  } catch (err) {
    deliveriesBox.textContent = err.message;
    return;
  }
  if (!rows.length) {
    deliveriesBox.innerHTML = '<p class="muted">Not sent to anyone yet.</p>';
    return;
  }
  // one line per person, which wraps inside the card however narrow: name, then where they are
  const list = document.createElement("ul");
  list.className = "delivery-list";
  for (const row of rows) {
    const li = document.createElement("li");
    li.dataset.recipient = row.recipient.id;
    const name = document.createElement("strong");
    name.textContent = row.recipient.name;
    const facts = document.createElement("span");
    facts.className = "delivery-facts";
    const fact = (text, done) => {
      const badge = document.createElement("span");
      badge.className = `badge${done ? " reviewed" : ""}`;
      badge.textContent = text;
      facts.append(badge);
    };
    fact(row.watched_at ? `Watched ${when(row.watched_at)}` : "Not watched yet", !!row.watched_at);
    const reflections = row.reflections || 0;
    fact(reflections ? `${reflections} reflection${reflections === 1 ? "" : "s"}` : "No reflection yet", reflections > 0);
    fact(row.reviewed_at ? `Reviewed ${when(row.reviewed_at)}` : "Not reviewed yet", !!row.reviewed_at);
    li.append(name, facts);
    list.append(li);
  }
  deliveriesBox.replaceChildren(list);
}

const sendPanel = document.getElementById("send-panel");
if (sendPanel && item.status === "ready") {
  renderSendForm(sendPanel, { kind, id: item.id, onSent: loadDeliveries });
  loadDeliveries();
  setInterval(() => { if (document.visibilityState === "visible") loadDeliveries(); }, 5000);
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") loadDeliveries(); });
} else if (sendPanel) {
  sendPanel.textContent = "It can be sent once it is ready.";
}

// --- processing: follow the job and reload when done ---------------------------------------------------
if (item.status === "processing") {
  const progress = document.getElementById("clip-progress");
  waitForItem(kind, item.id, { onProgress: (f) => { if (progress) progress.value = f; } })
    .then(() => window.location.reload())
    .catch(() => {});
}

const retry = document.getElementById("retry-clip");
if (retry) {
  retry.addEventListener("click", async () => {
    retry.disabled = true;
    try {
      await api(`/api/v1/clips/${item.id}/retry`, { method: "POST" });
      window.location.reload();
    } catch (err) {
      retry.disabled = false;
      announce(err.message, "error");
    }
  });
}

// --- reel chapters -------------------------------------------------------------------------------------
for (const button of document.querySelectorAll(".chapter-jump")) {
  button.addEventListener("click", () => {
    if (!video) return;
    video.currentTime = Number(button.dataset.startMs) / 1000;
    video.play().catch(() => {});
  });
}
