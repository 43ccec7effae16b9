// The criteria picker of the annotation form: an editable combobox (the ARIA 1.2 combobox pattern with a
// listbox popup) grouped by framework and by process, with the chosen criteria shown as removable chips.
// Keyboard: type to filter, ArrowDown/ArrowUp to move, Enter to add (or remove) the active option,
// Backspace in the empty field to remove the last chip, Escape to close the list (then to clear the text).
import { h } from "./app.js";

let counter = 0;

export class CriteriaPicker {
  /** id: the text field's id (its <label> says label); the picker's element is `this.root`. */
  constructor({ id = "annotation-criteria", label = "Criteria" } = {}) {
    counter += 1;
    this.id = id;
    this.listId = `${id}-listbox`;
    this.groups = [];          // [{label, options: [{id, text, search}]}]
    this.byId = new Map();     // criterion id -> {id, text, color}
    this.chosen = [];          // criterion ids, in the order chosen
    this.activeIndex = -1;
    this.visible = [];         // options shown, in order
    this.input = h("input", { id, type: "text", role: "combobox", autocomplete: "off", spellcheck: "false",
      "aria-autocomplete": "list", "aria-expanded": "false", "aria-controls": this.listId,
      "aria-describedby": `${id}-hint`, placeholder: "Type a code or a word, then Enter" });
    this.listbox = h("ul", { id: this.listId, role: "listbox", class: "picker-listbox", "aria-multiselectable": "true",
      "aria-label": "Matching options", hidden: true });
    this.chips = h("ul", { class: "picker-chips", "aria-label": "Chosen for this annotation" });
    this.empty = h("p", { class: "hint picker-none", id: `${id}-none` }, "None chosen.");
    this.root = h("div", { class: "field criteria-picker", "data-picker": String(counter) },
      h("label", { for: id }, label), this.chips, this.empty,
      h("div", { class: "picker-combo" }, this.input, this.listbox),
      h("span", { class: "hint", id: `${id}-hint` }, "Type to filter; ↓ and ↑ to move, Enter to add, Backspace to remove the last."));
    this.input.addEventListener("input", () => { this.open(); this.filter(); });
    this.input.addEventListener("keydown", (event) => this.onKey(event));
    this.input.addEventListener("click", () => { if (this.listbox.hidden) { this.open(); this.filter(); } });
    this.input.addEventListener("focus", () => { this.open(); this.filter(); });
    this.root.addEventListener("focusout", (event) => { if (!this.root.contains(event.relatedTarget)) this.close(); });
    document.addEventListener("pointerdown", (event) => { if (!this.root.contains(event.target)) this.close(); });
    // a pointer on an option chooses it without taking the focus from the field
    this.listbox.addEventListener("mousedown", (event) => event.preventDefault());
    this.listbox.addEventListener("click", (event) => {
      const option = event.target.closest("[role=option]");
      if (option) this.toggle(Number(option.dataset.criterion));
    });
    this.renderChips();
  }

  /** frameworks: [{name, criteria: [{id, code, name, parent_id, color}]}] as the lesson offers them. */
  setFrameworks(frameworks) {
    this.groups = [];
    this.byId = new Map();
    for (const f of frameworks) {
      const parents = new Map(f.criteria.filter((c) => !c.parent_id).map((c) => [c.id, c]));
      const hasChildren = f.criteria.some((c) => c.parent_id);
      const groupOf = new Map();
      const flat = { label: f.name, options: [] };
      if (!hasChildren) this.groups.push(flat);
      for (const c of f.criteria) {
        const text = `${c.code} ${c.name}`;
        const parent = c.parent_id ? parents.get(c.parent_id) : c;
        let group = flat;
        if (hasChildren && parent) {
          group = groupOf.get(parent.id);
          if (!group) {
            group = { label: `${f.name} · ${parent.name}`, options: [] };
            groupOf.set(parent.id, group);
            this.groups.push(group);
          }
        }
        const option = { id: c.id, text, color: c.color || "", search: `${text} ${f.name} ${parent ? parent.name : ""}`.toLowerCase() };
        group.options.push(option);
        this.byId.set(c.id, option);
      }
    }
    this.chosen = this.chosen.filter((id) => this.byId.has(id));
    this.renderChips();
    if (!this.listbox.hidden) this.filter();
  }

  /** The chosen criterion ids. */
  values() { return [...this.chosen]; }

  /** Choose exactly these; `extra` ([{id, code, name}]) names criteria the lesson no longer offers. */
  setValues(ids, extra = []) {
    for (const c of extra) {
      if (!this.byId.has(c.id)) this.byId.set(c.id, { id: c.id, text: `${c.code} ${c.name}`, color: c.color || "", search: "", extra: true });
    }
    this.chosen = ids.filter((id) => this.byId.has(id));
    this.renderChips();
  }

  clear() {
    for (const [id, option] of [...this.byId]) if (option.extra) this.byId.delete(id);
    this.chosen = [];
    this.input.value = "";
    this.renderChips();
    this.close();
  }

  toggle(id) {
    const option = this.byId.get(id);
    if (!option) return;
    if (this.chosen.includes(id)) this.chosen = this.chosen.filter((x) => x !== id);
    else this.chosen.push(id);
    this.input.value = "";
    this.renderChips();
    this.filter(id);
  }

  renderChips() {
    this.chips.replaceChildren(...this.chosen.map((id) => {
      const option = this.byId.get(id);
      return h("li", { class: "picker-chip", style: option.color ? `--tag:${option.color}` : null, "data-criterion": id },
        h("span", {}, option.text),
        h("button", { type: "button", class: "chip-remove", "aria-label": `Remove ${option.text}`,
          onclick: () => { this.toggle(id); this.input.focus(); } }, "×"));
    }));
    this.empty.hidden = this.chosen.length > 0;
    this.chips.hidden = this.chosen.length === 0;
  }

  open() {
    this.listbox.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
  }

  close() {
    this.listbox.hidden = true;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
    this.activeIndex = -1;
  }

  /** Show the options matching every word typed; keep `keepId` active when it is still shown. */
  filter(keepId = null) {
    const words = this.input.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    const matches = (o) => words.every((w) => o.search.includes(w));
    this.visible = [];
    const nodes = [];
    this.groups.forEach((group, g) => {
      const shown = group.options.filter(matches);
      if (!shown.length) return;
      const labelId = `${this.id}-group-${g}`;
      nodes.push(h("li", { role: "group", "aria-labelledby": labelId, class: "picker-group" },
        h("span", { id: labelId, class: "picker-group-label", role: "presentation" }, group.label),
        h("ul", { role: "presentation" }, shown.map((o) => {
          this.visible.push(o);
          const chosen = this.chosen.includes(o.id);
          return h("li", { role: "option", id: `${this.id}-option-${o.id}`, class: "picker-option", "data-criterion": o.id,
            "aria-selected": String(chosen), style: o.color ? `--tag:${o.color}` : null }, o.text);
        }))));
    });
    if (!nodes.length) nodes.push(h("li", { class: "picker-empty", role: "presentation" }, "No criterion matches."));
    this.listbox.replaceChildren(...nodes);
    const keep = keepId === null ? -1 : this.visible.findIndex((o) => o.id === keepId);
    this.setActive(keep >= 0 ? keep : (words.length && this.visible.length ? 0 : -1));
  }

  setActive(index) {
    this.activeIndex = index;
    for (const node of this.listbox.querySelectorAll(".picker-option.active")) node.classList.remove("active");
    if (index < 0 || index >= this.visible.length) { this.input.removeAttribute("aria-activedescendant"); return; }
    const node = document.getElementById(`${this.id}-option-${this.visible[index].id}`);
    node.classList.add("active");
    this.input.setAttribute("aria-activedescendant", node.id);
    node.scrollIntoView({ block: "nearest" });
  }

  onKey(event) {
    const { key } = event;
    if (key === "ArrowDown" || key === "ArrowUp") {
      event.preventDefault();
      if (this.listbox.hidden) { this.open(); this.filter(); }
      if (!this.visible.length) return;
      const step = key === "ArrowDown" ? 1 : -1;
      const start = this.activeIndex < 0 ? (step > 0 ? -1 : this.visible.length) : this.activeIndex;
      this.setActive((start + step + this.visible.length) % this.visible.length);
    } else if (key === "Enter" && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();  // Enter chooses here; it never sends the form (Ctrl+Enter does)
      if (this.listbox.hidden) { this.open(); this.filter(); }
      else if (this.activeIndex >= 0) { this.toggle(this.visible[this.activeIndex].id); this.close(); }
    } else if (key === "Escape") {
      if (!this.listbox.hidden) { event.preventDefault(); event.stopPropagation(); this.close(); }
      else if (this.input.value) { event.preventDefault(); this.input.value = ""; }
    } else if (key === "Backspace" && !this.input.value && this.chosen.length) {
      event.preventDefault();
      this.toggle(this.chosen[this.chosen.length - 1]);
    } else if (key === "Tab") {
      this.close();
    }
  }
}
