// The lesson page's feedback panel: markers on the timeline, the list that follows playback,
// "Add annotation" (with I/O span keys), replies, and a tagging panel with one hotkey per criterion.
import { api, announce, formatTime } from "./app.js";

const KIND_LABELS = { strength: "Strength", growth: "Growth area", question: "Question", note: "Note" };
const KIND_COLORS = { strength: "#1e7d43", growth: "#c26a00", question: "#3b5fc0", note: "#6b6b6b" };
const LEAD_IN_MS = 2000;

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
  return node;
}

export class AnnotationPanel {
  constructor({ player, lesson, side }) {
    this.player = player;
    this.lesson = lesson;
    this.side = side;
    this.items = [];
    this.criteria = new Map();
    this.frameworks = [];
    this.inPoint = null;
    this.outPoint = null;
    this.tagging = false;
    this.canWrite = lesson.access === "manage" || lesson.access === "comment";
    this.build();
    this.load();
  }

  async load() {
    try {
      const frameworks = await api("/api/v1/frameworks");
      this.frameworks = frameworks.items;
      for (const f of this.frameworks) for (const c of f.criteria) this.criteria.set(c.id, { ...c, framework: f });
      this.fillCriteria();
      this.fillTagging();
      await this.refresh();
    } catch (error) { announce(error.message, "error"); }
  }

  async refresh() {
    let url = `/api/v1/lessons/${this.lesson.id}/annotations?per_page=500`;
    const items = [];
    while (url) { const page = await api(url); items.push(...page.items); url = page.next; }
    this.items = items;
    this.render();
  }

  build() {
    this.list = h("ol", { class: "annotation-list", id: "annotation-list", "aria-label": "Annotations" });
    this.summary = h("p", { class: "hint", id: "annotation-summary" });
    this.form = this.buildForm();
    this.taggingPanel = h("div", { class: "tagging-panel", id: "tagging-panel", hidden: true, role: "group", "aria-label": "Tagging buttons" });
    const head = h("div", { class: "panel-head" }, h("h2", {}, "Feedback"));
    if (this.canWrite) {
      head.append(h("div", { class: "row" },
        h("button", { type: "button", class: "button primary", id: "add-annotation", onclick: () => this.openForm() }, "Add annotation"),
        h("button", { type: "button", class: "button", id: "tagging-toggle", "aria-pressed": "false", onclick: () => this.toggleTagging() }, "Tagging mode")));
    }
    this.side.append(h("section", { class: "card annotation-panel" }, head, this.summary, this.form, this.taggingPanel, this.list));
    this.player.on("render", (ms) => this.highlight(ms));
    document.addEventListener("keydown", (event) => this.onKey(event));
  }

  buildForm() {
    const kind = h("select", { id: "annotation-kind", name: "kind" },
      ...Object.entries(KIND_LABELS).map(([value, label]) => h("option", { value }, label)));
    this.criteriaSelect = h("select", { id: "annotation-criteria", name: "criteria", multiple: true, size: "6" });
    this.span = h("p", { class: "hint", id: "annotation-span" });
    const form = h("form", { class: "annotation-form stack", id: "annotation-form", hidden: true, "aria-label": "New annotation" },
      this.span,
      h("div", { class: "field" }, h("label", { for: "annotation-comment" }, "Comment"),
        h("textarea", { id: "annotation-comment", name: "body", rows: "4", placeholder: "What happened, and why it matters (Markdown works)" })),
      h("div", { class: "field" }, h("label", { for: "annotation-kind" }, "Kind"), kind),
      h("div", { class: "field" }, h("label", { for: "annotation-criteria" }, "Criteria"), this.criteriaSelect,
        h("span", { class: "hint" }, "Hold Ctrl (or ⌘) to choose several.")),
      h("div", { class: "field checkbox" }, h("input", { type: "checkbox", id: "annotation-private" }),
        h("label", { for: "annotation-private" }, "Private (only I can see it)")),
      h("p", { class: "flash flash-error", role: "alert", id: "annotation-error", hidden: true }),
      h("div", { class: "row" }, h("button", { type: "submit", class: "button primary" }, "Save"),
        h("button", { type: "button", class: "button", onclick: () => this.closeForm(false) }, "Cancel")));
    form.addEventListener("submit", (event) => { event.preventDefault(); this.save(); });
    return form;
  }

  fillCriteria() {
    this.criteriaSelect.innerHTML = "";
    for (const f of this.frameworks) {
      const group = h("optgroup", { label: f.name });
      for (const c of f.criteria) {
        const parent = c.parent_id ? "— " : "";
        group.append(h("option", { value: String(c.id) }, `${parent}${c.code} ${c.name}`));
      }
      this.criteriaSelect.append(group);
    }
  }

  fillTagging() {
    this.taggingPanel.innerHTML = "";
    this.taggingPanel.append(h("p", { class: "hint" }, `Press a criterion's key while the video plays to mark the moment (${LEAD_IN_MS / 1000} s before); write it up later.`));
    for (const f of this.frameworks) {
      const row = h("div", { class: "tag-group" }, h("h3", {}, f.name));
      for (const c of f.criteria.filter((x) => x.hotkey)) {
        row.append(h("button", { type: "button", class: "tag-button", style: `--tag:${c.color}`, "data-criterion": c.id,
          "aria-keyshortcuts": c.hotkey, onclick: () => this.tag(c) }, h("kbd", {}, c.hotkey), ` ${c.name}`));
      }
      this.taggingPanel.append(row);
    }
  }

  toggleTagging() {
    this.tagging = !this.tagging;
    this.taggingPanel.hidden = !this.tagging;
    document.getElementById("tagging-toggle").setAttribute("aria-pressed", String(this.tagging));
  }

  async tag(criterion) {
    const start = Math.max(0, this.player.currentMs() - LEAD_IN_MS);
    try {
      await api(`/api/v1/lessons/${this.lesson.id}/annotations`, { method: "POST",
        body: { start_ms: start, kind: "note", body: "", criterion_ids: [criterion.id] } });
      announce(`Tagged ${criterion.name} at ${formatTime(start)}.`, "success");
      await this.refresh();
    } catch (error) { announce(error.message, "error"); }
  }

  openForm() {
    this.wasPlaying = !this.player.video.paused;
    this.player.pause();
    if (this.inPoint === null) this.inPoint = this.player.currentMs();
    this.showSpan();
    this.form.hidden = false;
    document.getElementById("annotation-comment").focus();
  }

  showSpan() {
    this.span.textContent = this.outPoint !== null && this.outPoint > this.inPoint
      ? `From ${formatTime(this.inPoint)} to ${formatTime(this.outPoint)}` : `At ${formatTime(this.inPoint)}`;
  }

  closeForm(resume) {
    this.form.hidden = true;
    this.form.reset();
    this.inPoint = null;
    this.outPoint = null;
    document.getElementById("annotation-error").hidden = true;
    if (resume && this.wasPlaying) this.player.play();
  }

  async save() {
    const body = {
      start_ms: this.inPoint, kind: document.getElementById("annotation-kind").value,
      body: document.getElementById("annotation-comment").value,
      criterion_ids: [...this.criteriaSelect.selectedOptions].map((o) => Number(o.value)),
      visibility: document.getElementById("annotation-private").checked ? "private" : "shared",
    };
    if (this.outPoint !== null && this.outPoint > this.inPoint) body.end_ms = this.outPoint;
    try {
      await api(`/api/v1/lessons/${this.lesson.id}/annotations`, { method: "POST", body });
      this.closeForm(true);
      announce("Annotation saved.", "success");
      await this.refresh();
    } catch (error) {
      const box = document.getElementById("annotation-error");
      box.textContent = error.message;
      box.hidden = false;
    }
  }

  colorOf(a) {
    const first = a.criteria[0];
    return first ? first.color : KIND_COLORS[a.kind];
  }

  render() {
    const markers = this.player.markers;
    markers.innerHTML = "";
    this.list.innerHTML = "";
    const counts = { strength: 0, growth: 0, question: 0, note: 0 };
    for (const a of this.items) {
      counts[a.kind] += 1;
      const left = this.player.fraction(a.start_ms) * 100;
      const width = a.end_ms ? Math.max(0.4, (this.player.fraction(a.end_ms) * 100) - left) : null;
      const label = `${formatTime(a.start_ms)} ${KIND_LABELS[a.kind]}: ${a.body || a.criteria.map((c) => c.name).join(", ")}`;
      markers.append(h("button", { type: "button", class: `marker ${a.end_ms ? "span" : "moment"}`, title: label, "aria-label": label,
        tabindex: "-1", style: `left:${left}%;${width ? `width:${width}%;` : ""}--marker:${this.colorOf(a)}`,
        "data-annotation": a.id, onclick: () => this.playFrom(a) }));
      const item = h("li", { class: "annotation-item", "data-annotation": a.id, style: `--marker:${this.colorOf(a)}` },
        h("button", { type: "button", class: "annotation-jump", onclick: () => this.playFrom(a),
          "aria-label": `Play from ${formatTime(a.start_ms)}: ${a.body || KIND_LABELS[a.kind]}` },
          h("span", { class: "annotation-time" }, formatTime(a.start_ms) + (a.end_ms ? `–${formatTime(a.end_ms)}` : "")),
          h("span", { class: `badge kind-${a.kind}` }, KIND_LABELS[a.kind]),
          a.visibility === "private" ? h("span", { class: "badge" }, "private") : null),
        h("div", { class: "annotation-body" }),
        a.criteria.length ? h("p", { class: "annotation-criteria" }, a.criteria.map((c) => c.name).join(" · ")) : null,
        h("p", { class: "annotation-meta" }, a.author.name),
        this.repliesToggle(a));
      item.querySelector(".annotation-body").innerHTML = a.body_html || "<p class=\"muted\">(to be written up)</p>";
      this.list.append(item);
    }
    const total = this.items.length;
    const n = (count, one, many) => `${count} ${count === 1 ? one : many}`;
    this.summary.textContent = total ? `${n(total, "annotation", "annotations")}: ${n(counts.strength, "strength", "strengths")}, `
      + `${n(counts.growth, "growth area", "growth areas")}, ${n(counts.question, "question", "questions")}, ${n(counts.note, "note", "notes")}.`
      : "No annotations yet.";
    this.highlight(this.player.currentMs());
  }

  repliesToggle(a) {
    const wrap = h("details", { class: "replies" });
    wrap.append(h("summary", {}, `Replies (${a.reply_count})`));
    wrap.addEventListener("toggle", async () => {
      if (!wrap.open || wrap.dataset.loaded) return;
      wrap.dataset.loaded = "1";
      const thread = h("ul", { class: "reply-list" });
      wrap.append(thread);
      try {
        for (const r of (await api(`/api/v1/annotations/${a.id}/replies`)).items) {
          const li = h("li", {}, h("strong", {}, r.author.name), h("div", {}));
          li.lastChild.innerHTML = r.body_html;
          thread.append(li);
        }
      } catch (error) { announce(error.message, "error"); }
      if (this.canWrite) {
        const id = `reply-${a.id}`;
        const form = h("form", { class: "stack" }, h("label", { for: id }, "Your reply"),
          h("textarea", { id, rows: "2", required: true }), h("button", { type: "submit", class: "button small" }, "Send reply"));
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          try {
            await api(`/api/v1/annotations/${a.id}/replies`, { method: "POST", body: { body: form.querySelector("textarea").value } });
            await this.refresh();
          } catch (error) { announce(error.message, "error"); }
        });
        wrap.append(form);
      }
    });
    return wrap;
  }

  playFrom(a) {
    this.player.seek(a.start_ms);
    this.player.play();
  }

  highlight(ms) {
    let current = null;
    for (const a of this.items) {
      if (a.start_ms <= ms && ms <= (a.end_ms || a.start_ms + 3000)) current = a.id;
    }
    if (current === this.current) return;
    this.current = current;
    for (const li of this.list.children) {
      const on = Number(li.dataset.annotation) === current;
      li.classList.toggle("current", on);
      if (on) li.setAttribute("aria-current", "true"); else li.removeAttribute("aria-current");
    }
  }

  onKey(event) {
    const target = event.target;
    if (!this.canWrite || event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest && target.closest("input, textarea, select, [contenteditable=true], dialog[open]")) return;
    if (this.tagging) {
      const criterion = [...this.criteria.values()].find((c) => c.hotkey === event.key);
      if (criterion) { event.preventDefault(); this.tag(criterion); }
      return;
    }
    if (event.key === "a" || event.key === "A") { event.preventDefault(); this.openForm(); }
    else if (event.key === "i" || event.key === "I") {
      this.inPoint = this.player.currentMs(); this.outPoint = null;
      announce(`Span starts at ${formatTime(this.inPoint)}. Press O to end it.`);
    } else if ((event.key === "o" || event.key === "O") && this.inPoint !== null) {
      this.outPoint = this.player.currentMs();
      if (this.outPoint <= this.inPoint) { announce("The end must be after the start.", "error"); return; }
      this.openForm();
    }
  }
}

document.addEventListener("obsapp:player", (event) => {
  const side = document.getElementById("lesson-side");
  if (side) window.obsappAnnotations = new AnnotationPanel({ ...event.detail, side });
});
