// LessonPlayer: one <video> plus a timeline (waveform, playhead, thumbnail preview, markers layer).
// Reused by the lesson page, the annotation tools and the watch-together page.
import { formatTime } from "./app.js";

function parseVttTime(text) {
  const parts = text.trim().split(":").map(Number);
  while (parts.length < 3) parts.unshift(0);
  return Math.round(((parts[0] * 60 + parts[1]) * 60 + parts[2]) * 1000);
}

/** Parse a thumbnails WebVTT: [{start, end, url, x, y, w, h}], URLs resolved against the VTT's URL. */
export function parseThumbnailVtt(text, baseUrl) {
  const cues = [];
  for (const block of text.replace(/\r/g, "").split("\n\n")) {
    const lines = block.split("\n").filter(Boolean);
    const timing = lines.findIndex((line) => line.includes("-->"));
    if (timing < 0 || !lines[timing + 1]) continue;
    const [start, end] = lines[timing].split("-->").map((s) => parseVttTime(s.split(" ").filter(Boolean)[0]));
    const [file, frag] = lines[timing + 1].trim().split("#xywh=");
    if (!frag) continue;
    const [x, y, w, h] = frag.split(",").map(Number);
    cues.push({ start, end, url: new URL(file, baseUrl).toString(), x, y, w, h });
  }
  return cues;
}

export class LessonPlayer {
  /**
   * video: HTMLVideoElement; timeline: the #timeline element (with canvas, playhead, preview and
   * #timeline-markers children); lesson: the lesson JSON (duration_ms, fps, media URLs).
   */
  constructor({ video, timeline, lesson }) {
    this.video = video;
    this.timeline = timeline;
    this.lesson = lesson;
    this.durationMs = lesson.duration_ms || 0;
    this.fps = lesson.fps || 30;
    this.canvas = timeline.querySelector("canvas");
    this.playhead = timeline.querySelector(".timeline-playhead");
    this.preview = timeline.querySelector(".timeline-preview");
    this.markers = timeline.querySelector(".timeline-markers");
    this.peaks = [];
    this.peaksPerSecond = 10;
    this.thumbs = [];
    this.listeners = {};
    this.dragging = false;
    if (lesson.media.poster_url) video.poster = lesson.media.poster_url;
    video.src = lesson.media.video_url;
    this.bind();
    this.load();
  }

  on(type, fn) { (this.listeners[type] ||= []).push(fn); return this; }
  emit(type, detail) { (this.listeners[type] || []).forEach((fn) => fn(detail)); }

  currentMs() { return Math.round(this.video.currentTime * 1000); }
  seek(ms) {
    const clamped = Math.max(0, Math.min(ms, this.durationMs || ms));
    this.video.currentTime = clamped / 1000;
    this.render();
  }
  play() { return this.video.play().catch(() => {}); }
  pause() { this.video.pause(); }
  toggle() { return this.video.paused ? this.play() : this.pause(); }
  skip(deltaMs) { this.seek(this.currentMs() + deltaMs); }
  stepFrame(direction) {
    this.pause();
    this.seek(this.currentMs() + (direction * 1000) / this.fps);
  }
  /** Position (0..1) of a time on the timeline, for markers. */
  fraction(ms) { return this.durationMs ? Math.max(0, Math.min(1, ms / this.durationMs)) : 0; }

  async load() {
    const { waveform_url: waveformUrl, thumbnails_vtt_url: vttUrl } = this.lesson.media;
    const [waveform, vtt] = await Promise.all([
      waveformUrl ? fetch(waveformUrl, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null)).catch(() => null) : null,
      vttUrl ? fetch(vttUrl, { credentials: "same-origin" }).then((r) => (r.ok ? r.text() : "")).catch(() => "") : "",
    ]);
    if (waveform) {
      this.peaks = waveform.peaks || [];
      this.peaksPerSecond = waveform.peaks_per_second || 10;
    }
    if (vtt) this.thumbs = parseThumbnailVtt(vtt, new URL(vttUrl, window.location.href));
    this.thumbs.forEach((cue) => { const img = new Image(); img.src = cue.url; });  // warm the cache
    this.draw();
    this.timeline.dataset.ready = "true";
    this.emit("timelineready");
  }

  bind() {
    const v = this.video;
    v.addEventListener("loadedmetadata", () => {
      if (!this.durationMs && Number.isFinite(v.duration)) this.durationMs = Math.round(v.duration * 1000);
      this.timeline.setAttribute("aria-valuemax", String(Math.round(this.durationMs / 1000)));
      this.render();
      this.emit("loadedmetadata");
    });
    for (const type of ["timeupdate", "seeked", "play", "pause", "ratechange", "seeking"]) {
      v.addEventListener(type, () => { this.render(); this.emit(type, this.currentMs()); });
    }
    const loop = () => { if (!v.paused) this.render(); requestAnimationFrame(loop); };
    requestAnimationFrame(loop);
    new ResizeObserver(() => this.draw()).observe(this.timeline);

    const msAt = (event) => {
      const rect = this.timeline.getBoundingClientRect();
      return ((event.clientX - rect.left) / rect.width) * this.durationMs;
    };
    this.timeline.addEventListener("pointerdown", (event) => {
      if (event.target.closest(".marker")) return;
      this.dragging = true;
      this.timeline.setPointerCapture(event.pointerId);
      this.seek(msAt(event));
    });
    this.timeline.addEventListener("pointermove", (event) => {
      const ms = msAt(event);
      if (this.dragging) this.seek(ms);
      this.showPreview(ms, event);
    });
    this.timeline.addEventListener("pointerup", () => { this.dragging = false; });
    this.timeline.addEventListener("pointerleave", () => { this.preview.hidden = true; });
    this.timeline.addEventListener("keydown", (event) => {
      const keys = { ArrowLeft: -5000, ArrowRight: 5000, PageDown: -60000, PageUp: 60000 };
      if (event.key in keys) { this.skip(keys[event.key]); event.preventDefault(); event.stopPropagation(); }
      else if (event.key === "Home") { this.seek(0); event.preventDefault(); event.stopPropagation(); }
      else if (event.key === "End") { this.seek(this.durationMs); event.preventDefault(); event.stopPropagation(); }
    });
  }

  thumbAt(ms) {
    return this.thumbs.find((cue) => ms >= cue.start && ms < cue.end) || this.thumbs[this.thumbs.length - 1];
  }

  showPreview(ms, event) {
    const rect = this.timeline.getBoundingClientRect();
    const cue = this.thumbAt(ms);
    const image = this.preview.querySelector(".preview-image");
    if (cue) {
      image.style.width = `${cue.w}px`;
      image.style.height = `${cue.h}px`;
      image.style.backgroundImage = `url("${cue.url}")`;
      image.style.backgroundPosition = `-${cue.x}px -${cue.y}px`;
    }
    this.preview.querySelector(".preview-time").textContent = formatTime(ms);
    this.preview.hidden = false;
    const width = this.preview.offsetWidth || (cue ? cue.w : 80);
    const left = Math.max(0, Math.min(rect.width - width, event.clientX - rect.left - width / 2));
    this.preview.style.left = `${left}px`;
  }

  draw() {
    const canvas = this.canvas;
    const ratio = window.devicePixelRatio || 1;
    const width = this.timeline.clientWidth;
    const height = this.timeline.clientHeight;
    if (!width || !height) return;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const ctx = canvas.getContext("2d");
    ctx.scale(ratio, ratio);
    ctx.clearRect(0, 0, width, height);
    const style = getComputedStyle(this.timeline);
    ctx.fillStyle = style.getPropertyValue("--wave-color").trim() || "#7aa9ad";
    const mid = height / 2;
    const n = this.peaks.length;
    if (!n) {
      ctx.fillRect(0, mid - 1, width, 2);
    } else {
      for (let x = 0; x < width; x += 2) {
        const from = Math.floor((x / width) * n);
        const to = Math.max(from + 1, Math.floor(((x + 2) / width) * n));
        let peak = 0;
        for (let i = from; i < to && i < n; i += 1) peak = Math.max(peak, this.peaks[i]);
        const h = Math.max(1, peak * (height - 6));
        ctx.fillRect(x, mid - h / 2, 1.5, h);
      }
    }
    this.drawn = true;
    this.timeline.dataset.drawn = "true";
    this.render();
  }

  render() {
    const ms = this.currentMs();
    this.playhead.style.left = `${this.fraction(ms) * 100}%`;
    this.timeline.setAttribute("aria-valuenow", String(Math.round(ms / 1000)));
    this.timeline.setAttribute("aria-valuetext", `${formatTime(ms)} of ${formatTime(this.durationMs)}`);
    this.emit("render", ms);
  }
}

/** Player keyboard shortcuts, ignored while typing in a field. */
export function installShortcuts(player, { onHelp } = {}) {
  document.addEventListener("keydown", (event) => {
    const target = event.target;
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (target.closest && target.closest("input, textarea, select, [contenteditable=true], dialog[open]")) return;
    const onVideo = target === player.video;  // the native controls handle arrows/space themselves
    const actions = {
      " ": () => player.toggle(), k: () => player.toggle(), K: () => player.toggle(),
      j: () => player.skip(-10000), J: () => player.skip(-10000),
      l: () => player.skip(10000), L: () => player.skip(10000),
      ArrowLeft: () => player.skip(-5000), ArrowRight: () => player.skip(5000),
      ",": () => player.stepFrame(-1), ".": () => player.stepFrame(1),
      Home: () => player.seek(0), End: () => player.seek(player.durationMs),
      "?": () => onHelp && onHelp(),
    };
    if (onVideo && [" ", "ArrowLeft", "ArrowRight"].includes(event.key)) return;
    if (target.tagName === "BUTTON" && event.key === " ") return;
    const action = actions[event.key];
    if (action) { event.preventDefault(); action(); }
  });
}
