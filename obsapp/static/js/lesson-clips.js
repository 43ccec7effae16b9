// "Clips and reels": a list of clips with the reel maker. On the lesson page: that lesson's clips, and making a
// clip of a marked span. On /clips: every clip I made, from any lesson, to join into one reel.
import { api, announce, formatTime, h } from "./app.js";
import { openClipDialog, waitForItem } from "./clips.js";

const DEFAULT_CLIP_MS = 30000;

const STATUS = { processing: "Being made", ready: "Ready", failed: "Failed" };

export class ClipList {
  /** annotations: the lesson page's AnnotationPanel (its I/O span marks the span to clip), when there is one. */
  /** onReelMade(reel): called with a reel once it is ready (the "My clips" page lists it at once). */
  constructor({ player = null, lesson = null, root, annotations = null, onReelMade = () => {} }) {
    this.player = player;
    this.onReelMade = onReelMade;
    this.lesson = lesson;
    this.annotations = annotations;
    this.root = root;
    this.canWrite = lesson ? lesson.access === "manage" || lesson.access === "comment" : true;
    this.clips = [];
    this.build();
    this.refresh();
  }

  build() {
    this.list = h("ul", { class: "clip-list", id: "clip-list", "aria-label": this.lesson ? "Clips of this lesson" : "My clips" });
    this.empty = h("p", { class: "hint", id: "clips-empty" }, "No clips yet. Make one from an annotation (its \"Make clip\" button) or from a span you mark with I and O.");
    const head = h("div", { class: "panel-head" }, h("h2", { id: "clips-title" }, this.lesson ? "Clips and reels" : "My clips"));
    if (!this.lesson) this.empty.textContent = "You have not made any clips yet. Open a lesson and use \"Make clip\" on an annotation.";
    if (this.canWrite && this.player) {
      head.append(h("button", { type: "button", class: "button", id: "clip-span-button", onclick: () => this.clipSpan() }, "Clip a span"));
    }
    this.reelTitle = h("input", { id: "reel-title", name: "title", maxlength: "200", required: true, placeholder: "e.g. Questioning in 4B, term 3" });
    this.reelStatus = h("div", { role: "status", "aria-live": "polite", class: "reel-status" });
    this.reelForm = h("form", { class: "reel-form stack", id: "reel-form", hidden: true, "aria-label": "Make a reel" },
      h("p", { class: "hint", id: "reel-hint" }, "Tick clips above, in the order they should play, then name the reel."),
      h("div", { class: "field" }, h("label", { for: "reel-title" }, "Reel title"), this.reelTitle),
      h("div", { class: "row" }, h("button", { type: "submit", class: "button primary", id: "make-reel" }, "Make reel")),
      this.reelStatus);
    this.reelForm.addEventListener("submit", (event) => { event.preventDefault(); this.makeReel(); });
    this.order = [];
    this.root.append(head, this.empty, this.list, this.reelForm);
    this.root.hidden = false;
  }

  async refresh() {
    try {
      const items = [];
      let url = this.lesson ? `/api/v1/clips?lesson_id=${this.lesson.id}&per_page=100` : "/api/v1/clips?per_page=100";
      while (url) { const page = await api(url); items.push(...page.items); url = page.next; }
      this.clips = items;
      this.render();
      const pending = items.filter((c) => c.status === "processing");
      if (pending.length && !this.polling) {
        this.polling = true;
        await Promise.all(pending.map((c) => waitForItem("clip", c.id).catch(() => null)));
        this.polling = false;
        this.refresh();
      }
    } catch (error) { announce(error.message, "error"); }
  }

  render() {
    this.list.innerHTML = "";
    this.empty.hidden = this.clips.length > 0;
    this.order = this.order.filter((id) => this.clips.some((c) => c.id === id && c.status === "ready"));
    for (const clip of this.clips) {
      const id = `clip-pick-${clip.id}`;
      const ready = clip.status === "ready";
      const title = clip.title || `Clip at ${formatTime(clip.start_ms)}`;
      const pick = this.canWrite && ready ? h("input", { type: "checkbox", id, checked: this.order.includes(clip.id),
        onchange: (event) => this.pick(clip.id, event.target.checked) }) : null;
      this.list.append(h("li", { class: `clip-row status-${clip.status}`, "data-clip": clip.id },
        clip.thumbnail_url ? h("img", { src: clip.thumbnail_url, alt: "", width: "96", height: "54", loading: "lazy" }) : h("span", { class: "clip-thumb-empty", "aria-hidden": "true" }),
        h("div", { class: "clip-row-text" },
          pick ? h("div", { class: "field checkbox" }, pick, h("label", { for: id }, title)) : h("strong", {}, title),
          h("p", { class: "hint" }, this.lesson ? "" : `${clip.lesson.title} · `, `${formatTime(clip.start_ms)}–${formatTime(clip.end_ms)}`,
            clip.blur_faces ? " · faces blurred" : "", clip.captions ? " · captions" : "",
            this.order.includes(clip.id) ? ` · reel position ${this.order.indexOf(clip.id) + 1}` : ""),
          clip.status === "failed" && clip.error ? h("p", { class: "flash flash-error" }, clip.error) : null),
        h("span", { class: `badge ${clip.status}` }, STATUS[clip.status] || clip.status),
        h("a", { href: clip.page_url, class: "button small", "aria-label": `Open ${title}` }, "Open")));
    }
    this.reelForm.hidden = !(this.canWrite && this.clips.some((c) => c.status === "ready"));
    document.getElementById("make-reel").disabled = this.order.length === 0;
  }

  pick(id, on) {
    this.order = this.order.filter((x) => x !== id);
    if (on) this.order.push(id);
    this.render();
    document.getElementById(`clip-pick-${id}`)?.focus();
  }

  clipSpan() {
    const panel = this.annotations;
    const duration = this.player.durationMs || this.lesson.duration_ms;
    let start = this.player.currentMs();
    let end = Math.min(duration, start + DEFAULT_CLIP_MS);
    if (panel && panel.inPoint !== null && panel.outPoint !== null && panel.outPoint > panel.inPoint) {
      start = panel.inPoint;
      end = panel.outPoint;
    } else if (panel && panel.inPoint !== null && this.player.currentMs() > panel.inPoint) {
      start = panel.inPoint;
      end = this.player.currentMs();
    }
    if (end <= start) start = Math.max(0, end - DEFAULT_CLIP_MS);
    this.player.pause();
    openClipDialog({ lessonId: this.lesson.id, startMs: start, endMs: end, title: `${this.lesson.title} at ${formatTime(start)}` })
      .then((made) => { if (made) this.refresh(); });
  }

  async makeReel() {
    const title = this.reelTitle.value.trim();
    if (!title || !this.order.length) {
      this.reelStatus.replaceChildren(h("p", { class: "flash flash-error" }, !title ? "Give the reel a title." : "Tick at least one clip."));
      return;
    }
    const button = document.getElementById("make-reel");
    button.disabled = true;
    try {
      const created = await api("/api/v1/reels", { method: "POST", body: { title, clip_ids: this.order } });
      const progress = h("progress", { max: "1", value: "0", "aria-label": "Making the reel" });
      this.reelStatus.replaceChildren(h("p", {}, "Making the reel… ", progress));
      const reel = await waitForItem("reel", created.reel.id, { onProgress: (f) => { progress.value = f; } });
      if (reel.status === "failed") throw new Error(`The reel could not be made: ${reel.error}`);
      this.reelStatus.replaceChildren(h("p", {}, `"${reel.title}" is ready: `, h("a", { href: reel.page_url }, "open the reel"),
        " (send it to your mentee from there)."));
      announce("The reel is ready.", "success");
      this.onReelMade(reel);
      this.order = [];
      this.reelTitle.value = "";
      this.render();
    } catch (error) {
      this.reelStatus.replaceChildren(h("p", { class: "flash flash-error" }, error.message));
    } finally {
      button.disabled = this.order.length === 0;
    }
  }
}
