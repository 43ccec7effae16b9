// The watch page: one <video> kept in step with the group (watch-sync.js) over Socket.IO (watch-connection.js),
// who is watching, the host's lock, flags and shared notes, and the connection's state in words.
import { api, announce, formatTime } from "../app.js";
import { LessonPlayer, installShortcuts } from "../player.js";
import { WatchConnection } from "../watch-connection.js";
import { PlaybackSync, ServerClock } from "../watch-sync.js";

const data = JSON.parse(document.getElementById("watch-data").textContent);
const $ = (id) => document.getElementById(id);
const STATUS_WORDS = {
  idle: "Connecting…", connecting: "Connecting…", joining: "Joining…", connected: "Connected", reconnecting: "Reconnecting…",
  refused: "Not connected: please sign in again.", closed: "Disconnected",
};

class WatchPage {
  constructor() {
    this.sessionId = data.session_id;
    this.me = data.me;
    this.hostId = data.host ? data.host.id : null;
    this.locked = false;
    this.joined = false; // in the session, with the group's state: only then do the controls act
    this.ended = !data.active;
    this.notes = new Map(); // key -> {key, start_ms, body, author, kind}
    this.noteAt = null;
    this.video = $("watch-video");
    // the shared player (timeline with waveform, thumbnails and shortcuts) drives the element; every change it
    // makes goes through the element's own play/pause/seeking events, where the sync picks it up
    this.player = this.video && data.lesson.media.video_url
      ? new LessonPlayer({ video: this.video, timeline: $("timeline"), lesson: data.lesson }) : null;
    this.socket = new WatchConnection({ namespace: "/watch", transports: data.transports });
    this.clock = new ServerClock((clientTime) => this.socket.request("time", { client_time_ms: clientTime }, 3000));
    this.sync = this.video ? new PlaybackSync(this.video, {
      clock: this.clock,
      mayControl: () => this.mayControl(),
      onLocalAction: (control) => this.sendControl(control),
      onStatus: (status) => this.onSyncStatus(status),
    }) : null;
  }

  get isHost() { return this.hostId === this.me.id; }

  mayControl() { return this.joined && this.socket.connected && !this.ended && (!this.locked || this.isHost); }

  start() {
    this.bindControls();
    this.bindSocket();
    this.renderLock();
    this.loadNotes();
    if (this.ended) {
      this.showEnded("This watch session has ended.");
      return;
    }
    this.socket.connect();
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && this.socket.connected) this.resyncClock();
    });
    this.clockTimer = setInterval(() => { if (this.socket.connected) this.clock.sync(3); }, 30000);
    window.addEventListener("pagehide", () => this.socket.close());
    window.addEventListener("pageshow", (event) => { // back from the back/forward cache
      if (event.persisted && !this.ended) this.socket.connect();
    });
  }

  // --- Socket.IO ---------------------------------------------------------------------------------------

  bindSocket() {
    const socket = this.socket;
    socket.on("status", (status) => {
      if (status !== "connected") this.setJoined(false);
      this.renderStatus(status === "connected" ? "joining" : status);
    });
    socket.on("status", (status) => {
      if (status === "refused") announce("You are not signed in any more. Sign in again to keep watching.", "error");
    });
    socket.on("connect", () => this.join());
    socket.on("state", (state) => this.onState(state));
    socket.on("presence", (presence) => this.renderPresence(presence.users || []));
    socket.on("lock", (lock) => {
      this.locked = !!lock.locked;
      this.renderLock();
      if (!this.isHost || lock.reason === "host_left") {
        announce(this.locked ? `${lock.by ? lock.by.name : "The host"} locked the controls.`
          : lock.reason === "host_left" ? "The host left: everyone can control playback." : "The controls are unlocked.");
      }
    });
    socket.on("flag", (flag) => this.onFlag(flag));
    socket.on("note", (note) => this.addNote({ key: `n${note.id}`, start_ms: note.position_ms, body: note.body,
                                               author: note.by && note.by.name, kind: "note" }));
    socket.on("annotation", (message) => this.onAnnotation(message));
    socket.on("ended", (ended) => this.showEnded(ended.reason === "host"
      ? `${ended.by ? ended.by.name : "The host"} ended this watch session.` : "This watch session has ended."));
    socket.on("error", (error) => this.onServerError(error));
  }

  async join() {
    try {
      await this.clock.sync(5);
      if (this.sync) this.sync.expectFreshState();
      const answer = await this.socket.request("join", { session_id: this.sessionId });
      if (!answer.ok) {
        if (answer.error.code === "session_ended") this.showEnded("This watch session has ended.");
        else announce(answer.error.message, "error");
        return;
      }
      this.hostId = answer.session.host_id;
      this.locked = !!answer.session.locked;
      this.setJoined(true);
      this.renderLock();
      this.renderStatus("connected");
    } catch (err) {
      // disconnected meanwhile: the next connect joins again
    }
  }

  async resyncClock() {
    await this.clock.sync(3);
    if (this.sync) this.sync.resync();
  }

  sendControl(control) {
    this.socket.emit("control", control);
  }

  onState(state) {
    if (typeof state.locked === "boolean" && state.locked !== this.locked) {
      this.locked = state.locked;
      this.renderLock();
    }
    if (this.sync) this.sync.applyState(state);
    this.renderPlayState(state.playing);
    if (state.by && state.by.id !== this.me.id && ["play", "pause", "seek", "rate"].includes(state.action)) {
      const words = { play: "played", pause: "paused", seek: "moved to", rate: "changed the speed at" }[state.action];
      $("last-action").textContent = `${state.by.name} ${words} ${formatTime(state.position_ms)}`;
    }
  }

  onServerError(error) {
    if (error.code === "control_locked" && this.sync) this.sync.rollback();
    if (error.code === "session_ended") {
      this.showEnded("This watch session has ended.");
      return;
    }
    announce(error.message || "That did not work.", "error");
  }

  onSyncStatus(status) {
    if ("blocked" in status) $("autoplay-prompt").hidden = !status.blocked;
    if (status.refused) {
      announce(this.socket.connected ? "The host has locked the controls." : "Not connected: wait a moment.", "warning");
    }
  }

  // --- page controls -----------------------------------------------------------------------------------

  bindControls() {
    const video = this.video;
    if (video) {
      $("play-toggle").addEventListener("click", () => this.togglePlay());
      $("speed").addEventListener("change", (event) => { video.playbackRate = Number(event.target.value); });
      if (this.player) installShortcuts(this.player);
      video.addEventListener("timeupdate", () => this.renderTime());
      video.addEventListener("durationchange", () => this.renderTime());
      video.addEventListener("play", () => this.renderPlayState(true));
      video.addEventListener("pause", () => this.renderPlayState(false));
      video.addEventListener("ratechange", () => {
        const nearest = [...$("speed").options].find((o) => Math.abs(Number(o.value) - video.playbackRate) < 0.1);
        if (nearest && document.activeElement !== $("speed")) $("speed").value = nearest.value;
      });
      $("autoplay-prompt").addEventListener("click", () => {
        video.play().catch(() => {});
        $("autoplay-prompt").hidden = true;
      });
    }
    $("flag-button").addEventListener("click", () => this.flag());
    $("copy-invite").addEventListener("click", () => this.copyInvite());
    $("note-form").addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveNote();
    });
    $("note-cancel").addEventListener("click", () => this.closeNoteForm());
    if ($("lock-toggle")) $("lock-toggle").addEventListener("click", () => this.toggleLock());
    if ($("end-button")) $("end-button").addEventListener("click", () => this.endSession());
    document.addEventListener("keydown", (event) => this.onKey(event));
  }

  onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.defaultPrevented) return;
    const target = event.target;
    if (target.closest && target.closest("input, textarea, select, [contenteditable='true']")) return;
    if (event.key === "f" || event.key === "F") {
      event.preventDefault();
      this.flag();
    } else if ((event.key === "k" || event.key === "K") && this.video) {
      event.preventDefault();
      this.togglePlay();
    }
  }

  togglePlay() {
    const video = this.video;
    if (video.paused) video.play().catch(() => {});
    else video.pause();
  }

  async flag() {
    if (this.ended) return;
    if (!this.mayControl()) {
      announce(this.socket.connected ? "The host has locked the controls." : "Not connected: wait a moment.", "warning");
      return;
    }
    const position = this.video ? Math.round(this.video.currentTime * 1000) : 0;
    try {
      const answer = await this.socket.request("flag", { position_ms: position });
      if (answer.ok) this.flaggedByMe = answer.position_ms;
    } catch (err) {
      announce("Not connected: the moment was not flagged.", "error");
    }
  }

  onFlag(flag) {
    // Only the person who flagged writes the note; the others see it in Notes once it is saved.
    const mine = flag.by && flag.by.id === this.me.id;
    if (mine) this.openNoteForm(flag.position_ms, "You flagged this moment.", true);
    else announce(`${flag.by ? flag.by.name : "Someone"} flagged the moment at ${formatTime(flag.position_ms)}; their note will appear under Notes.`);
  }

  openNoteForm(positionMs, reason, focus) {
    this.noteAt = positionMs;
    $("note-time").textContent = formatTime(positionMs);
    $("note-reason").textContent = reason;
    $("note-form").hidden = false;
    if (focus) $("note-body").focus();
    else announce(`${reason} A shared note is open at ${formatTime(positionMs)}.`);
  }

  closeNoteForm() {
    $("note-form").hidden = true;
    $("note-body").value = "";
    this.noteAt = null;
  }

  async saveNote() {
    const body = $("note-body").value.trim();
    if (!body) {
      $("note-body").setAttribute("aria-invalid", "true");
      announce("Write something in the note first.", "error");
      $("note-body").focus();
      return;
    }
    $("note-body").removeAttribute("aria-invalid");
    const at = this.noteAt ?? 0;
    const canAnnotate = data.annotations.api && ["comment", "manage"].includes(data.lesson.access);
    $("note-save").disabled = true;
    try {
      if (canAnnotate) {
        try {
          const annotation = await api(`/api/v1/lessons/${data.lesson.id}/annotations`, {
            method: "POST", body: { start_ms: at, body, kind: "note", visibility: "shared" },
          });
          this.addAnnotation(annotation);
          this.closeNoteForm();
          announce("Note saved on the lesson.", "success");
          return;
        } catch (err) {
          if (![404, 405].includes(err.status)) throw err;
        }
      }
      const answer = await this.socket.request("note", { position_ms: at, body });
      if (!answer.ok) throw new Error(answer.error.message);
      this.closeNoteForm();
      announce("Note saved in this session.", "success");
    } catch (err) {
      announce(err.message || "The note was not saved.", "error");
    } finally {
      $("note-save").disabled = false;
    }
  }

  async toggleLock() {
    try {
      const answer = await this.socket.request("lock", { locked: !this.locked });
      if (answer.ok) {
        this.locked = answer.locked;
        this.renderLock();
        announce(this.locked ? "Only you can control playback now." : "Everyone can control playback.");
      }
    } catch (err) {
      announce("Not connected: try again in a moment.", "error");
    }
  }

  async endSession() {
    if (!window.confirm("End this watch session for everyone?")) return;
    try {
      await api(`/api/v1/watch/${encodeURIComponent(this.sessionId)}/end`, { method: "POST" });
      this.showEnded("You ended this watch session.");
    } catch (err) {
      announce(err.message, "error");
    }
  }

  async copyInvite() {
    const field = $("invite-url");
    try {
      await navigator.clipboard.writeText(data.join_url);
      announce("Invite link copied.", "success");
    } catch (err) {
      field.focus();
      field.select();
      announce("Press Ctrl+C to copy the selected invite link.");
    }
  }

  showEnded(message) {
    this.ended = true;
    this.socket.close();
    if (this.sync) this.sync.destroy();
    if (this.video && !this.video.paused) this.video.pause();
    clearInterval(this.clockTimer);
    this.renderLock();
    $("ended-message").textContent = message;
    $("ended-panel").hidden = false;
    for (const id of ["flag-button", "lock-toggle", "end-button"]) if ($(id)) $(id).disabled = true;
    this.renderStatus("closed");
    $("watch-status").textContent = "Session ended";
  }

  // --- notes and annotations ---------------------------------------------------------------------------

  async loadNotes() {
    try {
      const session = await api(`/api/v1/watch/${encodeURIComponent(this.sessionId)}`);
      for (const event of session.log || []) {
        if (event.kind === "note" && event.payload && event.payload.body) {
          this.addNote({ key: `n${event.id}`, start_ms: event.at_ms, body: event.payload.body,
                         author: event.user && event.user.name, kind: "note" });
        }
      }
    } catch (err) { /* the list fills as notes arrive */ }
    if (!data.annotations.api) return;
    try {
      const page = await api(`/api/v1/lessons/${data.lesson.id}/annotations`);
      for (const annotation of page.items || []) this.addAnnotation(annotation);
    } catch (err) { /* no annotations to show */ }
  }

  onAnnotation(message) {
    const annotation = message.annotation || {};
    if (message.event === "annotation.deleted") {
      this.removeNote(`a${annotation.id}`);
    } else {
      this.addAnnotation(annotation);
      if (message.event === "annotation.created" && annotation.author && annotation.author.id !== this.me.id) {
        announce(`${annotation.author.name} added a note at ${formatTime(annotation.start_ms)}.`);
      }
    }
  }

  addAnnotation(annotation) {
    if (!annotation || annotation.id === undefined) return;
    const author = annotation.author ? annotation.author.name : annotation.author_name;
    this.addNote({ key: `a${annotation.id}`, start_ms: annotation.start_ms, body: annotation.body || "",
                   html: annotation.body_html || null, criteria: (annotation.criteria || []).map((c) => c.name),
                   author, kind: annotation.kind || "note" });
  }

  addNote(note) {
    if (typeof note.start_ms !== "number") return;
    this.notes.set(note.key, note);
    this.renderNotes();
  }

  removeNote(key) {
    if (this.notes.delete(key)) this.renderNotes();
  }

  renderNotes() {
    const list = $("notes");
    const timeline = $("timeline-markers");
    const notes = [...this.notes.values()].sort((a, b) => a.start_ms - b.start_ms);
    list.replaceChildren();
    timeline.replaceChildren();
    const duration = data.lesson.duration_ms || (this.video && Number.isFinite(this.video.duration) ? this.video.duration * 1000 : 0);
    for (const note of notes) {
      const item = document.createElement("li");
      item.className = `watch-note kind-${note.kind}`;
      const jump = document.createElement("button");
      jump.type = "button";
      jump.className = "link-button";
      jump.textContent = formatTime(note.start_ms);
      jump.setAttribute("aria-label", `Go to ${formatTime(note.start_ms)}`);
      jump.addEventListener("click", () => this.seekTo(note.start_ms));
      const who = document.createElement("span");
      who.className = "muted";
      who.textContent = note.author ? ` ${note.author}: ` : " ";
      // an annotation's body arrives as sanitised HTML (Markdown rendered by the server); a tag has no body,
      // so its criteria stand in for it rather than an empty line
      const body = document.createElement("div");
      body.className = "watch-note-body";
      if (note.body.trim() && note.html) body.innerHTML = note.html;
      else if (note.body.trim()) body.textContent = note.body;
      else body.textContent = (note.criteria && note.criteria.length) ? `Tagged: ${note.criteria.join(", ")}` : "Tagged this moment";
      item.append(jump, who, body);
      list.append(item);
      if (duration > 0) {
        // for the pointer only: the timeline is a slider, which may hold no controls; the Notes list is its keyboard twin
        const marker = document.createElement("span");
        marker.className = `marker watch-marker kind-${note.kind}`;
        marker.style.left = `${Math.min(100, (note.start_ms / duration) * 100)}%`;
        marker.setAttribute("aria-hidden", "true");
        marker.title = `${formatTime(note.start_ms)} ${note.body || (note.criteria || []).join(", ")}`;
        marker.addEventListener("click", () => this.seekTo(note.start_ms));
        timeline.append(marker);
      }
    }
    $("notes-empty").hidden = notes.length > 0;
  }

  seekTo(ms) {
    if (this.video) this.video.currentTime = ms / 1000;
  }

  // --- rendering ---------------------------------------------------------------------------------------

  renderStatus(status) {
    const element = $("watch-status");
    element.textContent = STATUS_WORDS[status] || status;
    element.dataset.status = status;
  }

  renderPresence(users) {
    const list = $("presence");
    list.replaceChildren();
    for (const user of users) {
      const item = document.createElement("li");
      item.className = "watch-person";
      const name = document.createElement("span");
      name.textContent = user.name;
      item.append(name);
      const roles = [user.host ? "host" : null, user.id === this.me.id ? "you" : null].filter(Boolean);
      if (roles.length) {
        const role = document.createElement("span");
        role.className = "muted";
        role.textContent = ` (${roles.join(", ")})`;
        item.append(role);
      }
      list.append(item);
    }
    $("presence-count").textContent = users.length === 1 ? "1 person watching" : `${users.length} people watching`;
  }

  setJoined(joined) {
    if (this.joined === joined) return;
    this.joined = joined;
    this.renderLock();
  }

  renderLock() {
    const toggle = $("lock-toggle");
    if (toggle) {
      toggle.setAttribute("aria-pressed", String(this.locked));
      toggle.textContent = this.locked ? "Unlock controls" : "Lock controls";
    }
    const guestLocked = this.locked && !this.isHost;
    $("lock-note").hidden = !guestLocked;
    // until joined (and while the host holds the controls) the player follows the group and takes no input
    const inert = guestLocked || (!this.joined && !this.ended); // once ended, the player is theirs alone
    for (const id of ["play-toggle", "speed"]) if ($(id)) $(id).disabled = inert;
    if ($("timeline")) $("timeline").classList.toggle("watch-inert", inert);
    $("flag-button").disabled = inert || this.ended;
    if (toggle) toggle.disabled = !this.joined || this.ended;
    if (this.video) this.video.controls = !inert;
  }

  renderPlayState(playing) {
    const button = $("play-toggle");
    if (button) button.textContent = playing ? "Pause" : "Play";
  }

  renderTime() {
    const video = this.video;
    const duration = Number.isFinite(video.duration) ? video.duration : 0;
    $("time-display").textContent = `${formatTime(video.currentTime * 1000)} / ${formatTime(duration * 1000)}`;
    if (this.notes.size && !this.markersPlaced && duration) {
      this.markersPlaced = true;
      this.renderNotes();
    }
  }
}

// exported for people debugging a session (in the console: `(await import("/static/js/pages/watch.js")).page`)
export const page = new WatchPage();
page.start();
