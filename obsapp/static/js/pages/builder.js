// The framework builder, enhanced: the form is checked by the server's own rules as one types (op=check answered
// as JSON), each field shows its problem, the polite status line says what changed, and the preview follows.
// Without this script the same checks run when "Check and preview" or "Save framework" is pressed.
import { csrfToken, h } from "../app.js";

const form = document.getElementById("builder");
const status = document.getElementById("builder-status");
const summary = document.getElementById("builder-errors");
const preview = document.getElementById("builder-preview");
let timer = null;
let controller = null;
let lastEdited = null;
let shown = {};

function describe(input, errorId, on) {
  const ids = new Set((input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
  if (on) ids.add(errorId); else ids.delete(errorId);
  if (ids.size) input.setAttribute("aria-describedby", [...ids].join(" "));
  else input.removeAttribute("aria-describedby");
  if (on) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
}

function show(problems) {
  for (const slot of form.querySelectorAll("[data-error-for]")) {
    const name = slot.dataset.errorFor;
    const text = problems[name] || "";
    slot.textContent = text;
    slot.hidden = !text;
    const input = form.elements.namedItem(name);
    if (input && input.id) describe(input, slot.id, Boolean(text));
  }
  const entries = Object.entries(problems);
  summary.hidden = entries.length === 0;
  summary.replaceChildren(
    h("p", {}, `${entries.length} problem${entries.length === 1 ? "" : "s"} to fix before saving:`),
    h("ul", {}, entries.map(([name, text]) => h("li", {}, document.getElementById(`f-${name}`)
      ? h("a", { href: `#f-${name}` }, text) : text))));
  // Say what changed for the field being edited, or that everything is fine now; not every keystroke.
  let line = "";
  if (lastEdited && problems[lastEdited] && problems[lastEdited] !== shown[lastEdited]) line = problems[lastEdited];
  else if (lastEdited && !problems[lastEdited] && shown[lastEdited]) {
    line = entries.length ? `Fixed. ${entries.length} problem${entries.length === 1 ? "" : "s"} left.` : "No problems left.";
  }
  if (line) status.replaceChildren(h("p", { class: `flash flash-${problems[lastEdited] ? "error" : "info"}` }, line));
  shown = problems;
}

async function check() {
  if (controller) controller.abort();
  controller = new AbortController();
  const body = new FormData(form);
  body.set("op", "check");
  try {
    const response = await fetch(form.dataset.checkUrl, {
      method: "POST", body, credentials: "same-origin", signal: controller.signal,
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
    });
    if (!response.ok) return;  // the buttons still check and save without us
    const data = await response.json();
    show(data.problems);
    preview.innerHTML = data.preview;  // rendered by the server's template, escaped there
    form.dataset.checked = String(Number(form.dataset.checked || 0) + 1);
  } catch (err) {
    if (err.name !== "AbortError") throw err;
  }
}

if (form) {
  summary.removeAttribute("role");  // after the first render, problems are told through the polite status line
  form.addEventListener("input", (event) => {
    if (event.target.name) lastEdited = event.target.name;
    clearTimeout(timer);
    timer = setTimeout(check, 350);
  });
  form.addEventListener("keydown", (event) => {
    // Enter in a one-line field checks the form rather than pressing the first button of the page
    if (event.key === "Enter" && event.target.tagName === "INPUT" && event.target.type !== "submit") {
      event.preventDefault();
      clearTimeout(timer);
      check();
    }
  });
}
