// The lesson page's feedback panel: markers on the timeline, the list that follows playback,
// "Add annotation" (with I/O span keys), replies, and a tagging panel with one hotkey per criterion.
import { api, announce, formatTime, h } from "./app.js";
import { openClipDialog } from "./clips.js";
import { CriteriaPicker } from "./criteria-picker.js";
import { openGoalPicker } from "./goal-picker.js";

const KIND_LABELS = { strength: "Strength", growth: "Growth area", question: "Question", note: "Note" };
const KIND_COLORS = { strength: "#1e7d43", growth: "#c26a00", question: "#3b5fc0", note: "#6b6b6b" };
const LEAD_IN_MS = 2000;
const RENDER_SLICE = 100;
const INTERACTIVE = "a, button, input, select, textarea, label, summary, details, form, [contenteditable]";
// The page's own keys (player, annotation, span, flag): a criterion can never take them, whatever its framework says.
export const RESERVED_KEYS = new Set(["a", "i", "o", "f", "j", "k", "l", " ", "?", ",", "."]);
const RATINGS = [["1", "beginning"], ["2", "developing"], ["3", "proficient"], ["4", "exemplary"]];

export class AnnotationPanel {
  /** onClipMade(clip): called when a clip made from an annotation is ready (the page refreshes its clip list). */
  constructor({ player, lesson, side, onClipMade = () => {} }) {
    this.player = player;
    this.lesson = lesson;
    this.side = side;
    this.onClipMade = onClipMade;
    this.items = [];
    this.criteria = new Map();
    this.frameworks = [];
    this.hotkeys = new Map();
    this.hotkeyClashes = [];
    this.inPoint = null;
    this.outPoint = null;
    this.tagging = false;
    this.canWrite = lesson.access === "manage" || lesson.access === "comment";
    this.build();
    this.load();
  }

  async load() {
    try {
      await this.loadFrameworks();
      await this.refresh();
      performance.mark("obsapp:annotations-ready");
      document.body.dataset.annotationsReady = "1";
    } catch (error) { announce(error.message, "error"); }
  }

  async loadFrameworks() {
    const offered = await api(`/api/v1/lessons/${this.lesson.id}/frameworks`);
    this.frameworks = offered.items;
    this.frameworksDefault = offered.default;
    this.canChooseFrameworks = offered.can_change;
    this.criteria = new Map();
    this.hotkeys = new Map();
    this.hotkeyClashes = [];
    for (const f of this.frameworks) {
      for (const c of f.criteria) {
        this.criteria.set(c.id, { ...c, framework: f });
        if (!c.hotkey || RESERVED_KEYS.has(c.hotkey.toLowerCase())) continue;
        if (this.hotkeys.has(c.hotkey)) this.hotkeyClashes.push(c);
        else this.hotkeys.set(c.hotkey, c);
      }
    }
    this.fillCriteria();
    this.fillTagging();
    this.frameworksButton.hidden = !(this.canWrite && this.canChooseFrameworks);
    this.frameworksNote.textContent = `Criteria from ${this.frameworks.map((f) => f.name).join(" and ") || "no framework"}`
      + (this.frameworksDefault ? " (all of the school's frameworks)." : ".");
  }

  async refresh() {
    let url = `/api/v1/lessons/${this.lesson.id}/annotations?per_page=500`;
    const items = [];
    while (url) { const page = await api(url); items.push(...page.items); url = page.next; }
    this.items = items;
    this.itemsChanged = true;
    await this.render();
    this.refreshSummary();
  }

  async refreshSummary() {
    try {
      this.renderSummary(await api(`/api/v1/lessons/${this.lesson.id}/annotations/summary`));
    } catch (error) { announce(error.message, "error"); }
  }

  build() {
    this.list = h("ol", { class: "annotation-list", id: "annotation-list", "aria-label": "Annotations" });
    this.summary = h("p", { class: "hint", id: "annotation-summary", role: "status" });
    this.summaryBody = h("div", { class: "summary-body", id: "summary-body" });
    this.summaryBox = h("details", { class: "summary-box", id: "summary-box" },
      h("summary", {}, "Summary by criterion"), this.summaryBody,
      h("p", {}, h("a", { href: `/lessons/${this.lesson.id}/feedback`, class: "button small", id: "printable-feedback" }, "Printable feedback")));
    this.frameworksNote = h("p", { class: "hint", id: "frameworks-note" });
    this.filters = this.buildFilters();
    this.frameworksButton = h("button", { type: "button", class: "button small", id: "frameworks-button", hidden: true,
      "aria-haspopup": "dialog", onclick: () => this.openFrameworks() }, "Choose frameworks");
    this.frameworksDialog = this.buildFrameworksDialog();
    this.transfer = this.buildTransfer();
    this.form = this.buildForm();
    this.taggingPanel = h("div", { class: "tagging-panel", id: "tagging-panel", hidden: true, role: "group", "aria-label": "Tagging buttons" });
    const head = h("div", { class: "panel-head" }, h("h2", {}, "Feedback"));
    if (this.canWrite) {
      head.append(h("div", { class: "row" },
        h("button", { type: "button", class: "button primary", id: "add-annotation", onclick: () => this.openForm() }, "Add annotation"),
        h("button", { type: "button", class: "button", id: "tagging-toggle", "aria-pressed": "false", onclick: () => this.toggleTagging() }, "Tagging mode")));
    }
    this.side.append(h("section", { class: "card annotation-panel" }, head, this.summary, this.summaryBox,
      h("div", { class: "row frameworks-row" }, this.frameworksNote, this.frameworksButton),
      this.form, this.taggingPanel, this.filters, this.list, this.transfer), this.frameworksDialog);
    this.player.on("render", (ms) => this.highlight(ms));
    document.addEventListener("keydown", (event) => this.onKey(event));
  }

  buildForm() {
    const kind = h("select", { id: "annotation-kind", name: "kind" },
      ...Object.entries(KIND_LABELS).map(([value, label]) => h("option", { value }, label)));
    this.picker = new CriteriaPicker({ id: "annotation-criteria", label: "Criteria" });
    this.span = h("p", { class: "hint", id: "annotation-span" });
    this.formTitle = h("h3", { id: "annotation-form-title" }, "New annotation");
    const form = h("form", { class: "annotation-form stack", id: "annotation-form", hidden: true, "aria-labelledby": "annotation-form-title" },
      this.formTitle, this.span,
      h("div", { class: "field" }, h("label", { for: "annotation-comment" }, "Comment"),
        h("textarea", { id: "annotation-comment", name: "body", rows: "4", placeholder: "What happened, and why it matters (Markdown works)" })),
      h("div", { class: "field" }, h("label", { for: "annotation-kind" }, "Kind"), kind),
      this.picker.root,
      h("div", { class: "field" }, h("label", { for: "annotation-rating" }, "Rating (optional)"),
        h("select", { id: "annotation-rating", name: "rating" }, h("option", { value: "" }, "No rating"),
          ...RATINGS.map(([value, label]) => h("option", { value }, `${value} – ${label}`)))),
      h("div", { class: "field checkbox" }, h("input", { type: "checkbox", id: "annotation-private" }),
        h("label", { for: "annotation-private" }, "Private (only I can see it)")),
      h("p", { class: "flash flash-error", role: "alert", id: "annotation-error", hidden: true }),
      h("div", { class: "row" }, h("button", { type: "submit", class: "button primary" }, "Save"),
        h("button", { type: "button", class: "button", onclick: () => this.closeForm(false) }, "Cancel")));
    form.addEventListener("submit", (event) => { event.preventDefault(); this.save(); });
    form.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
      else if (event.key === "Escape" && !event.defaultPrevented) { event.preventDefault(); this.closeForm(false); }
    });
    return form;
  }

  fillCriteria() {
    this.picker.setFrameworks(this.frameworks);
  }

  fillTagging() {
    this.taggingPanel.innerHTML = "";
    this.taggingPanel.append(h("p", { class: "hint" }, `Press a criterion's key while the video plays to mark the moment (${LEAD_IN_MS / 1000} s before); write it up later.`));
    for (const f of this.frameworks) {
      const row = h("div", { class: "tag-group" }, h("h3", {}, f.name));
      for (const c of f.criteria.filter((x) => x.hotkey || x.parent_id || f.criteria.every((y) => !y.parent_id))) {
        const bound = c.hotkey && this.hotkeys.get(c.hotkey)?.id === c.id;
        row.append(h("button", { type: "button", class: "tag-button", style: `--tag:${c.color}`, "data-criterion": c.id,
          "aria-keyshortcuts": bound ? c.hotkey : null, onclick: () => this.tag(c) },
          bound ? h("kbd", {}, c.hotkey) : null, ` ${c.name}`));
      }
      this.taggingPanel.append(row);
    }
    if (this.hotkeyClashes.length) {
      this.taggingPanel.append(h("p", { class: "hint" }, `Keys used by two frameworks work for the first one only: `
        + this.hotkeyClashes.map((c) => `${c.hotkey.toUpperCase()} (${c.name})`).join(", ") + "."));
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

  openForm(editing = null) {
    this.wasPlaying = !this.player.video.paused;
    this.player.pause();
    this.editing = editing;
    this.form.reset();
    this.picker.clear();
    if (editing) {
      this.inPoint = editing.start_ms;
      this.outPoint = editing.end_ms;
      document.getElementById("annotation-comment").value = editing.body;
      document.getElementById("annotation-kind").value = editing.kind;
      document.getElementById("annotation-private").checked = editing.visibility === "private";
      document.getElementById("annotation-rating").value = editing.rating ? String(editing.rating) : "";
      // Criteria from a framework this lesson no longer offers stay on the annotation unless removed.
      this.picker.setValues(editing.criterion_ids, editing.criteria);
    } else if (this.inPoint === null) {
      this.inPoint = this.player.currentMs();
    }
    this.formTitle.textContent = editing ? (editing.body ? "Edit annotation" : "Write up this moment") : "New annotation";
    this.showSpan();
    this.form.hidden = false;
    this.form.scrollIntoView({ block: "nearest" });
    document.getElementById("annotation-comment").focus();
  }

  showSpan() {
    this.span.textContent = this.outPoint !== null && this.outPoint > this.inPoint
      ? `From ${formatTime(this.inPoint)} to ${formatTime(this.outPoint)}` : `At ${formatTime(this.inPoint)}`;
  }

  closeForm(resume) {
    this.form.hidden = true;
    this.form.reset();
    this.picker.clear();
    this.inPoint = null;
    this.outPoint = null;
    this.editing = null;
    document.getElementById("annotation-error").hidden = true;
    if (resume && this.wasPlaying) this.player.play();
  }

  async save() {
    const body = {
      start_ms: this.inPoint, kind: document.getElementById("annotation-kind").value,
      body: document.getElementById("annotation-comment").value,
      criterion_ids: this.picker.values(),
      visibility: document.getElementById("annotation-private").checked ? "private" : "shared",
      rating: document.getElementById("annotation-rating").value ? Number(document.getElementById("annotation-rating").value) : null,
    };
    const span = this.outPoint !== null && this.outPoint > this.inPoint;
    if (span) body.end_ms = this.outPoint;
    const editing = this.editing;
    try {
      if (editing) {
        if (!span) body.end_ms = null;
        await api(`/api/v1/annotations/${editing.id}`, { method: "PATCH", body, headers: { "If-Match": editing.etag } });
      } else {
        await api(`/api/v1/lessons/${this.lesson.id}/annotations`, { method: "POST", body });
      }
      this.closeForm(true);
      announce(editing ? "Annotation updated." : "Annotation saved.", "success");
      await this.refresh();
    } catch (error) {
      const box = document.getElementById("annotation-error");
      box.textContent = error.status === 412
        ? "This annotation was changed somewhere else while you edited it. The list now shows the latest version; open it again to edit."
        : error.message;
      box.hidden = false;
      if (error.status === 412) await this.refresh();
    }
  }

  async remove(a) {
    if (!window.confirm(`Delete this annotation at ${formatTime(a.start_ms)}? Its replies go too.`)) return;
    try {
      await api(`/api/v1/annotations/${a.id}`, { method: "DELETE" });
      announce("Annotation deleted.", "success");
      await this.refresh();
    } catch (error) { announce(error.message, "error"); }
  }

  async hide(a, hidden) {
    try {
      await api(`/api/v1/annotations/${a.id}/${hidden ? "hide" : "unhide"}`, { method: "POST" });
      announce(hidden ? "Hidden from everyone but you and its author." : "Shown again.", "success");
      await this.refresh();
    } catch (error) { announce(error.message, "error"); }
  }

  clip(a) {
    // A span is clipped as it is; a moment gets 5 s before it and 10 s after it.
    const duration = this.player.durationMs || this.lesson.duration_ms;
    const start = a.end_ms ? a.start_ms : Math.max(0, a.start_ms - 5000);
    const end = a.end_ms ? a.end_ms : Math.min(duration, a.start_ms + 10000);
    const words = (a.body || a.criteria.map((c) => c.name).join(", ") || KIND_LABELS[a.kind]).replace(/[*_`#>]/g, "");
    openClipDialog({ lessonId: this.lesson.id, startMs: start, endMs: end, annotationId: a.id,
      title: words.length > 80 ? `${words.slice(0, 77)}…` : words })
      .then((made) => { if (made) this.onClipMade(made); });
  }

  itemActions(a) {
    const label = `${formatTime(a.start_ms)} ${KIND_LABELS[a.kind]}`;
    const buttons = [];
    if (a.can_edit) {
      buttons.push(h("button", { type: "button", class: "button small", "aria-label": `${a.body ? "Edit" : "Write up"} ${label}`,
        onclick: () => this.openForm(a) }, a.body ? "Edit" : "Write up"));
      buttons.push(h("button", { type: "button", class: "button small", "aria-label": `Delete ${label}`,
        onclick: () => this.remove(a) }, "Delete"));
    }
    if (this.lesson.access === "manage" && !a.can_edit) {
      buttons.push(h("button", { type: "button", class: "button small", "aria-label": `${a.hidden ? "Show" : "Hide"} ${label}`,
        onclick: () => this.hide(a, !a.hidden) }, a.hidden ? "Show" : "Hide"));
    }
    if (this.canWrite && this.lesson.status === "ready") {
      buttons.push(h("button", { type: "button", class: "button small", "aria-label": `Make clip of ${label}`,
        onclick: () => this.clip(a) }, "Make clip"));
    }
    if (a.id) {
      buttons.push(h("button", { type: "button", class: "button small", "aria-label": `Add to goal: ${label}`,
        "aria-haspopup": "dialog", onclick: () => openGoalPicker({ kind: "annotation", id: a.id, label: `The annotation at ${label}` }) },
      "Add to goal"));
    }
    return buttons.length ? h("div", { class: "row annotation-actions" }, buttons) : null;
  }

  colorOf(a) {
    const first = a.criteria[0];
    return first ? first.color : KIND_COLORS[a.kind];
  }

  // Markers go in at once; list items in slices of RENDER_SLICE with a pause between them, so a lesson with
  // thousands of annotations never blocks the page (keys and clicks are handled between slices).
  async render() {
    const generation = (this.renderGeneration = (this.renderGeneration || 0) + 1);
    const markers = this.player.markers;
    if (this.filterCriterion.options.length <= 1 || this.itemsChanged) this.fillFilterChoices();
    this.itemsChanged = false;
    const shown = this.visibleItems();
    this.filterCount.textContent = shown.length === this.items.length ? "" : `Showing ${shown.length} of ${this.items.length}.`;
    markers.replaceChildren(...shown.map((a) => this.markerNode(a)));
    this.list.replaceChildren();
    this.list.setAttribute("aria-busy", "true");
    for (let i = 0; i < shown.length; i += RENDER_SLICE) {
      if (i) await new Promise((resolve) => setTimeout(resolve, 0));
      if (generation !== this.renderGeneration) return;  // a newer render took over
      this.list.append(...shown.slice(i, i + RENDER_SLICE).map((a) => this.itemNode(a)));
    }
    this.list.removeAttribute("aria-busy");
    this.current = undefined;
    this.highlight(this.player.currentMs());
  }

  markerNode(a) {
    const left = this.player.fraction(a.start_ms) * 100;
    const width = a.end_ms ? Math.max(0.4, (this.player.fraction(a.end_ms) * 100) - left) : null;
    const label = `${formatTime(a.start_ms)} ${KIND_LABELS[a.kind]}: ${a.body || a.criteria.map((c) => c.name).join(", ")}`;
    // A marker is for the pointer only (the slider may hold no controls); the list is its keyboard twin.
    return h("span", { class: `marker ${a.end_ms ? "span" : "moment"}`, title: label, "aria-hidden": "true",
      style: `left:${left}%;${width ? `width:${width}%;` : ""}--marker:${this.colorOf(a)}`,
      "data-annotation": a.id, onclick: () => this.playFrom(a) });
  }

  itemNode(a) {
    // the whole item plays from the annotation's start (click, or Enter when the item has the focus); the
    // buttons, links and forms inside it keep doing their own thing
    const item = h("li", { class: "annotation-item", "data-annotation": a.id, style: `--marker:${this.colorOf(a)}`,
      tabindex: "0", onclick: (event) => this.onItemClick(event, a), onkeydown: (event) => this.onItemKey(event, a) },
      h("button", { type: "button", class: "annotation-jump", onclick: () => this.playFrom(a) },
        h("span", { class: "visually-hidden" }, "Play from "),
        h("span", { class: "annotation-time" }, formatTime(a.start_ms) + (a.end_ms ? `–${formatTime(a.end_ms)}` : "")),
        h("span", { class: `badge kind-${a.kind}` }, KIND_LABELS[a.kind]),
        a.visibility === "private" ? h("span", { class: "badge" }, "private") : null,
        a.rating ? h("span", { class: "badge", title: "Rating on a 1–4 scale" }, `${a.rating}/4`) : null),
      h("div", { class: "annotation-body" }),
      a.criteria.length ? h("p", { class: "annotation-criteria" }, a.criteria.map((c) => c.name).join(" · ")) : null,
      h("p", { class: "annotation-meta" }, a.author.name, a.hidden ? " · hidden" : ""),
      this.itemActions(a),
      this.repliesToggle(a));
    item.querySelector(".annotation-body").innerHTML = a.body_html || "<p class=\"muted\">(to be written up)</p>";
    return item;
  }

  renderSummary(summary) {
    const n = (count, one, many) => `${count} ${count === 1 ? one : many}`;
    const k = summary.by_kind;
    this.summary.textContent = summary.total ? `${n(summary.total, "annotation", "annotations")}: ${n(k.strength, "strength", "strengths")}, `
      + `${n(k.growth, "growth area", "growth areas")}, ${n(k.question, "question", "questions")}, ${n(k.note, "note", "notes")}.`
      : "No annotations yet.";
    this.summaryBody.innerHTML = "";
    if (!summary.frameworks.length) {
      this.summaryBody.append(h("p", { class: "hint" }, "No annotation is tagged with a criterion yet."));
      return;
    }
    for (const f of summary.frameworks) {
      const max = Math.max(1, ...f.criteria.map((c) => c.total));
      const rows = f.criteria.map((c) => h("tr", { class: c.parent_id ? "child" : "parent" },
        h("th", { scope: "row" }, `${c.code} ${c.name}`),
        h("td", { class: "num" }, String(c.by_kind.strength || "")),
        h("td", { class: "num" }, String(c.by_kind.growth || "")),
        h("td", { class: "num" }, String(c.by_kind.question || "")),
        h("td", { class: "num" }, String(c.by_kind.note || "")),
        h("td", { class: "num" }, String(c.total)),
        h("td", { class: "bar-cell", "aria-hidden": "true" },
          h("span", { class: "bar", style: `width:${(100 * c.total) / max}%;--marker:${c.color}` }))));
      this.summaryBody.append(h("table", { class: "summary-table" },
        h("caption", {}, f.name),
        h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Criterion"), h("th", { scope: "col", class: "num" }, "Strengths"),
          h("th", { scope: "col", class: "num" }, "Growth"), h("th", { scope: "col", class: "num" }, "Questions"),
          h("th", { scope: "col", class: "num" }, "Notes"), h("th", { scope: "col", class: "num" }, "All"),
          h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, "Share")))),
        h("tbody", {}, rows)));
    }
    if (summary.untagged) this.summaryBody.append(h("p", { class: "hint" }, `${n(summary.untagged, "annotation", "annotations")} without criteria.`));
  }

  buildFilters() {
    const search = h("input", { type: "search", id: "filter-text", placeholder: "Words in the comment", autocomplete: "off" });
    this.filterKind = h("select", { id: "filter-kind" }, h("option", { value: "" }, "All types"),
      ...Object.entries(KIND_LABELS).map(([value, label]) => h("option", { value }, label)));
    this.filterCriterion = h("select", { id: "filter-criterion" }, h("option", { value: "" }, "Any criterion"));
    this.filterAuthor = h("select", { id: "filter-author" }, h("option", { value: "" }, "Everyone"));
    this.filterCount = h("p", { class: "hint", id: "filter-count", "aria-live": "polite" });
    const again = () => this.render();
    let timer = null;
    search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(again, 120); });
    for (const select of [this.filterKind, this.filterCriterion, this.filterAuthor]) select.addEventListener("change", again);
    this.filterText = search;
    return h("details", { class: "filter-box", id: "annotation-filters" }, h("summary", {}, "Filter the list"),
      h("div", { class: "filter-grid" },
        h("div", { class: "field" }, h("label", { for: "filter-text" }, "Search feedback"), search),
        h("div", { class: "field" }, h("label", { for: "filter-kind" }, "Feedback type"), this.filterKind),
        h("div", { class: "field" }, h("label", { for: "filter-criterion" }, "Tagged with"), this.filterCriterion),
        h("div", { class: "field" }, h("label", { for: "filter-author" }, "Written by"), this.filterAuthor)),
      this.filterCount);
  }

  fillFilterChoices() {
    const keep = (select, options) => {
      const value = select.value;
      while (select.options.length > 1) select.remove(1);
      for (const [v, label] of options) select.append(h("option", { value: v }, label));
      select.value = options.some(([v]) => v === value) ? value : "";
    };
    const criteria = new Map();
    const authors = new Map();
    for (const a of this.items) {
      for (const c of a.criteria) criteria.set(String(c.id), `${c.code} ${c.name}`);
      authors.set(String(a.author.id), a.author.name);
    }
    keep(this.filterCriterion, [...criteria].sort((x, y) => x[1].localeCompare(y[1], undefined, { numeric: true })));
    keep(this.filterAuthor, [...authors].sort((x, y) => x[1].localeCompare(y[1])));
  }

  visibleItems() {
    const text = this.filterText.value.trim().toLowerCase();
    const kind = this.filterKind.value;
    const criterion = this.filterCriterion.value ? Number(this.filterCriterion.value) : null;
    const author = this.filterAuthor.value ? Number(this.filterAuthor.value) : null;
    return this.items.filter((a) => (!kind || a.kind === kind)
      && (criterion === null || a.criterion_ids.includes(criterion))
      && (author === null || a.author.id === author)
      && (!text || a.body.toLowerCase().includes(text) || a.criteria.some((c) => c.name.toLowerCase().includes(text))));
  }

  buildTransfer() {
    const base = `/api/v1/lessons/${this.lesson.id}/annotations/export?format=`;
    const formats = [["csv", "CSV (spreadsheet)"], ["vtt", "WebVTT (subtitles)"], ["w3c", "W3C Web Annotation"], ["eaf", "ELAN (.eaf)"]];
    const box = h("details", { class: "transfer-box no-print", id: "annotation-transfer" },
      h("summary", {}, "Export or import"),
      h("ul", { class: "export-links", "aria-label": "Export the annotations" },
        formats.map(([fmt, label]) => h("li", {}, h("a", { href: base + fmt, download: "" }, label)))));
    if (this.canWrite) {
      const status = h("div", { role: "status", "aria-live": "polite", id: "import-status" });
      const input = h("input", { type: "file", id: "import-file", accept: ".csv,.vtt,.json,.jsonld,.eaf" });
      const form = h("form", { class: "stack", "aria-label": "Import annotations" },
        h("div", { class: "field" }, h("label", { for: "import-file" }, "Import annotations from a file"), input,
          h("span", { class: "hint" }, "CSV, WebVTT, W3C Web Annotation (.json) or ELAN (.eaf). All or nothing: one bad line and nothing is added.")),
        h("div", {}, h("button", { type: "submit", class: "button small" }, "Import")), status);
      form.addEventListener("submit", async (event) => {
        event.preventDefault();
        if (!input.files.length) { status.replaceChildren(h("p", { class: "flash flash-error" }, "Choose a file first.")); return; }
        const data = new FormData();
        data.append("file", input.files[0]);
        try {
          const result = await api(`/api/v1/lessons/${this.lesson.id}/annotations/import`, { method: "POST", body: data });
          status.replaceChildren(h("p", { class: "flash flash-success" }, `Imported ${result.imported} annotation${result.imported === 1 ? "" : "s"}.`));
          form.reset();
          await this.refresh();
        } catch (error) {
          const lines = error.fields && error.fields.file ? error.fields.file.slice(0, 10) : [];
          status.replaceChildren(h("div", { class: "flash flash-error" }, h("p", {}, error.message.split(": ")[0] + "."),
            lines.length ? h("ul", {}, lines.map((line) => h("li", {}, line))) : null));
        }
      });
      box.append(form);
    }
    return box;
  }

  buildFrameworksDialog() {
    this.frameworksChoices = h("fieldset", { class: "stack" }, h("legend", {}, "Offer criteria from"));
    this.frameworksError = h("p", { class: "flash flash-error", role: "alert", hidden: true });
    const form = h("form", { class: "stack" }, this.frameworksChoices, this.frameworksError,
      h("div", { class: "row" },
        h("button", { type: "submit", class: "button primary" }, "Save"),
        h("button", { type: "button", class: "button", onclick: () => this.saveFrameworks(null) }, "Use all frameworks"),
        h("button", { type: "button", class: "button", onclick: () => this.frameworksDialog.close() }, "Cancel")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveFrameworks([...this.frameworksChoices.querySelectorAll("input:checked")].map((i) => Number(i.value)));
    });
    return h("dialog", { id: "frameworks-dialog", "aria-labelledby": "frameworks-title" },
      h("h2", { id: "frameworks-title" }, "Frameworks for this lesson"),
      h("p", { class: "hint" }, "Choose the frameworks whose criteria the feedback form and tagging buttons offer on this lesson. "
        + "Feedback already tagged keeps its criteria."), form);
  }

  async openFrameworks() {
    try {
      const all = (await api("/api/v1/frameworks")).items;
      const offered = new Set(this.frameworks.map((f) => f.id));
      this.frameworksChoices.querySelectorAll(".field").forEach((node) => node.remove());
      for (const f of all) {
        const id = `framework-choice-${f.id}`;
        // The count stays out of the label: the form's "Criteria" field must be the only one named so.
        this.frameworksChoices.append(h("div", { class: "field checkbox" },
          h("input", { type: "checkbox", id, value: String(f.id), checked: offered.has(f.id), "aria-describedby": `${id}-size` }),
          h("label", { for: id }, f.name), h("span", { class: "hint", id: `${id}-size` }, `(${f.criteria.length})`)));
      }
      this.frameworksError.hidden = true;
      this.frameworksDialog.showModal();
    } catch (error) { announce(error.message, "error"); }
  }

  async saveFrameworks(ids) {
    try {
      await api(`/api/v1/lessons/${this.lesson.id}/frameworks`, { method: "PUT", body: { framework_ids: ids } });
      this.frameworksDialog.close();
      await this.loadFrameworks();
      announce(`This lesson now offers criteria from ${this.frameworks.map((f) => f.name).join(" and ")}.`, "success");
    } catch (error) {
      this.frameworksError.textContent = error.message;
      this.frameworksError.hidden = false;
    }
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
        for (const r of (await api(`/api/v1/annotations/${a.id}/replies`)).items) thread.append(this.replyNode(r));
      } catch (error) { announce(error.message, "error"); }
      if (this.canWrite) {
        const id = `reply-${a.id}`;
        const form = h("form", { class: "stack reply-form" }, h("label", { for: id }, "Your reply"),
          h("textarea", { id, rows: "2", required: true, "aria-describedby": `${id}-hint` }),
          h("span", { class: "hint", id: `${id}-hint` }, "Ctrl+Enter sends it."),
          h("button", { type: "submit", class: "button small" }, "Send reply"));
        const textarea = form.querySelector("textarea");
        textarea.addEventListener("keydown", (event) => {
          if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) { event.preventDefault(); form.requestSubmit(); }
        });
        form.addEventListener("submit", async (event) => {
          event.preventDefault();
          if (!textarea.value.trim()) return;
          try {
            const reply = await api(`/api/v1/annotations/${a.id}/replies`, { method: "POST", body: { body: textarea.value } });
            // the thread stays open, with the new reply shown and focused
            const li = this.replyNode(reply);
            li.tabIndex = -1;
            thread.append(li);
            a.reply_count += 1;
            wrap.querySelector("summary").textContent = `Replies (${a.reply_count})`;
            form.reset();
            li.focus();
            announce("Reply sent.", "success");
          } catch (error) { announce(error.message, "error"); }
        });
        wrap.append(form);
      }
    });
    return wrap;
  }

  replyNode(r) {
    const li = h("li", { class: "reply", "data-reply": r.id }, h("strong", {}, r.author.name), h("div", {}));
    li.lastChild.innerHTML = r.body_html;
    return li;
  }

  onItemClick(event, a) {
    const inner = event.target.closest(INTERACTIVE);
    if (inner && event.currentTarget.contains(inner)) return;
    if (String(window.getSelection() || "").length) return; // selecting text to copy it, not asking to play
    this.playFrom(a);
  }

  onItemKey(event, a) {
    if (event.key !== "Enter" || event.target !== event.currentTarget) return;
    event.preventDefault();
    this.playFrom(a);
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
      // While the video plays the list keeps the current annotation in view, unless the mentor is using the list.
      if (on && !this.player.video.paused && !this.list.matches(":hover, :focus-within")) li.scrollIntoView({ block: "nearest" });
    }
  }

  onKey(event) {
    const target = event.target;
    if (!this.canWrite || event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    if (target.closest && target.closest("input, textarea, select, [contenteditable=true], dialog[open]")) return;
    const key = event.key.toLowerCase();
    if (this.tagging && !RESERVED_KEYS.has(key)) {
      const criterion = this.hotkeys.get(key);
      if (criterion) { event.preventDefault(); this.tag(criterion); return; }
    }
    if (key === "a") { event.preventDefault(); this.openForm(); }
    else if (key === "i") {
      this.inPoint = this.player.currentMs(); this.outPoint = null;
      announce(`Span starts at ${formatTime(this.inPoint)}. Press O to end it.`);
    } else if (key === "o" && this.inPoint !== null) {
      this.outPoint = this.player.currentMs();
      if (this.outPoint <= this.inPoint) { announce("The end must be after the start.", "error"); return; }
      this.openForm();
    }
  }
}
