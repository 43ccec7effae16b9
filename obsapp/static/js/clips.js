// Making clips and sending them. The annotation UI calls openClipDialog({lessonId, startMs, endMs, annotationId, title}).
import { api, announce, ApiError, formatTime } from "./app.js";

let dialogCount = 0;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function checkbox(id, label, checked, hint) {
  const input = el("input", { type: "checkbox", id, name: id });
  input.checked = !!checked;
  const wrap = el("div", { class: "field checkbox" }, input, el("label", { for: id, text: label }));
  if (hint) {
    const hintId = `${id}-hint`;
    input.setAttribute("aria-describedby", hintId);
    wrap.append(el("span", { class: "hint", id: hintId, text: hint }));
  }
  return { wrap, input };
}

/** Wait for a clip or reel job: calls onProgress(0..1); resolves with the finished item. */
export async function waitForItem(kind, id, { onProgress = () => {}, signal, intervalMs = 700 } = {}) {
  for (;;) {
    if (signal && signal.aborted) throw new DOMException("aborted", "AbortError");
    const item = await api(`/api/v1/${kind}s/${id}`, { signal });
    if (item.status !== "processing") return item;
    onProgress(item.job ? item.job.progress : 0);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/**
 * The "Send to…" step: pick people who may see the lesson, add a message, send.
 * Renders into `container`; `kind` is "clip" or "reel". Calls onSent(deliveries) after sending.
 */
export async function renderSendForm(container, { kind, id, onSent = () => {} }) {
  const n = ++dialogCount;
  container.replaceChildren(el("p", { class: "muted", text: "Loading the people it can go to…" }));
  let people;
  try {
    people = (await api(`/api/v1/${kind}s/${id}/recipients`)).items;
  } catch (err) {
    container.replaceChildren(el("p", { class: "flash flash-error", text: err.message }));
    return;
  }
  if (!people.length) {
    container.replaceChildren(el("p", { class: "muted", text: "Nobody else can see this lesson yet. Share it first." }));
    return;
  }
  const fieldset = el("fieldset", { class: "recipients" }, el("legend", { text: "Send to" }));
  for (const person of people) {
    const box = el("input", { type: "checkbox", id: `send-${n}-${person.id}`, value: String(person.id), name: "user_ids" });
    if (person.role === "owner") box.checked = true;
    const label = el("label", { for: box.id, text: `${person.name}` });
    fieldset.append(el("div", { class: "field checkbox" }, box, label,
      el("span", { class: "hint", text: person.role === "owner" ? "teacher of the lesson" : person.role })));
  }
  const messageId = `send-${n}-message`;
  const message = el("textarea", { id: messageId, name: "message", rows: "3", placeholder: "What to look at, what to try next time…" });
  const status = el("p", { class: "send-status", role: "status", "aria-live": "polite" });
  const button = el("button", { type: "submit", class: "primary", text: kind === "reel" ? "Send reel" : "Send clip" });
  const form = el("form", { class: "stack send-form" }, fieldset,
    el("div", { class: "field" }, el("label", { for: messageId, text: "Message" }), message),
    el("div", {}, button), status);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const userIds = [...fieldset.querySelectorAll("input:checked")].map((box) => Number(box.value));
    if (!userIds.length) {
      status.textContent = "Choose at least one person.";
      return;
    }
    button.disabled = true;
    status.textContent = "Sending…";
    try {
      const sent = await api(`/api/v1/${kind}s/${id}/send`, { method: "POST", body: { user_ids: userIds, message: message.value || null } });
      const names = sent.items.map((d) => d.recipient.name).join(", ");
      status.textContent = `Sent to ${names}.`;
      announce(`Sent to ${names}.`, "success");
      onSent(sent.items);
    } catch (err) {
      status.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  container.replaceChildren(form);
}

async function lessonDefaults(lessonId) {
  try {
    const lesson = await api(`/api/v1/lessons/${lessonId}`);
    return { blur: !!lesson.blur_faces_default, title: lesson.title, duration: lesson.duration_ms };
  } catch (err) {
    return { blur: false, title: "", duration: null };
  }
}

/**
 * Open a dialog that turns a span of a lesson into a clip, shows its progress, then offers the clip page and
 * a "Send to…" step. Resolves with the clip (or null when cancelled before making one).
 */
export async function openClipDialog({ lessonId, startMs, endMs, annotationId = null, title = "" }) {
  const n = ++dialogCount;
  const defaults = await lessonDefaults(lessonId);
  const headingId = `clip-dialog-${n}-heading`;
  const dialog = el("dialog", { class: "clip-dialog", "aria-labelledby": headingId });
  const titleId = `clip-${n}-title`;
  const titleInput = el("input", { id: titleId, name: "title", type: "text", maxlength: "200", value: title || "" });
  const accurate = checkbox(`clip-${n}-accurate`, "Frame-accurate", true, "Starts and ends on the exact frames (else from the keyframe before: instant).");
  const captions = checkbox(`clip-${n}-captions`, "Captions", annotationId !== null, "The comment, its kind and criteria as subtitles.");
  const blur = checkbox(`clip-${n}-blur`, "Blur faces", defaults.blur, defaults.blur ? "This lesson blurs faces in everything that leaves it." : "Pixelates every face, e.g. the pupils'.");
  if (defaults.blur) blur.input.disabled = true;
  const card = checkbox(`clip-${n}-card`, "Intro card", false, "Opens with 2 seconds showing the clip's name, the lesson and the criteria.");
  const status = el("div", { class: "clip-dialog-status", role: "status", "aria-live": "polite" });
  const make = el("button", { type: "submit", class: "primary", text: "Make clip" });
  const close = el("button", { type: "button", text: "Cancel" });
  const form = el("form", { method: "dialog", class: "stack" },
    el("p", { class: "muted", text: `${formatTime(startMs)} – ${formatTime(endMs)} (${Math.round((endMs - startMs) / 100) / 10} s)` }),
    el("div", { class: "field" }, el("label", { for: titleId, text: "Title" }), titleInput),
    accurate.wrap, captions.wrap, blur.wrap, card.wrap, status,
    el("div", { class: "row" }, make, close));
  const sendPanel = el("div", { class: "clip-dialog-send" });
  dialog.append(el("h2", { id: headingId, text: "Make a clip" }), form, sendPanel);
  document.body.append(dialog);
  const controller = new AbortController();
  let clip = null;

  return new Promise((resolve) => {
    const finish = () => {
      controller.abort();
      if (dialog.open) dialog.close();
      dialog.remove();
      resolve(clip);
    };
    close.addEventListener("click", finish);
    dialog.addEventListener("cancel", (event) => { event.preventDefault(); finish(); });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (clip) return;
      make.disabled = true;
      status.replaceChildren(el("p", { text: "Starting…" }));
      try {
        const body = { start_ms: Math.round(startMs), end_ms: Math.round(endMs), accurate: accurate.input.checked,
                       captions: captions.input.checked, blur_faces: blur.input.checked,
                       title_card: card.input.checked };
        if (titleInput.value.trim()) body.title = titleInput.value.trim();
        if (annotationId !== null && annotationId !== undefined) body.annotation_id = annotationId;
        const created = await api(`/api/v1/lessons/${lessonId}/clips`, { method: "POST", body });
        clip = created.clip;
        const progress = el("progress", { max: "1", value: "0", "aria-label": "Making the clip" });
        status.replaceChildren(el("p", { text: "Making the clip… " }, progress));
        clip = await waitForItem("clip", clip.id, { signal: controller.signal, onProgress: (f) => { progress.value = f; } });
        if (clip.status === "failed") {
          status.replaceChildren(el("p", { class: "flash flash-error", text: `The clip could not be made: ${clip.error}` }));
          make.disabled = false;
          make.textContent = "Try again";
          const failed = clip;
          clip = null;
          make.addEventListener("click", async () => { await api(`/api/v1/clips/${failed.id}/retry`, { method: "POST" }); }, { once: true });
          return;
        }
        make.hidden = true;
        close.textContent = "Close";
        status.replaceChildren(el("p", {}, "The clip is ready: ", el("a", { href: clip.page_url, text: "open the clip" }), "."));
        announce("The clip is ready.", "success");
        sendPanel.append(el("h3", { text: "Send to…" }));
        const target = el("div");
        sendPanel.append(target);
        await renderSendForm(target, { kind: "clip", id: clip.id });
      } catch (err) {
        if (err.name === "AbortError") return;
        status.replaceChildren(el("p", { class: "flash flash-error", text: err instanceof ApiError ? err.message : "Something went wrong." }));
        make.disabled = false;
      }
    });
    dialog.showModal();
    titleInput.focus();
  });
}
