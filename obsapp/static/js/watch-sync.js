// Keeping one <video> in step with the group: a server clock estimate, drift correction, and telling the
// person's own actions (page buttons, the native controls, or script calling video.play() or setting
// video.currentTime) apart from the changes this code makes itself.
//
// How own changes are recognised: by comparing what the element reports with what this code last asked of
// it, never by timing guesses. Every play()/pause() this code makes records the paused state it asked for;
// every seek records its target time; every playbackRate change records the rate it set. A "play"/"pause"
// event that matches the recorded request, a "seeking" event at a recorded target, a "ratechange" to the
// recorded rate are ours; anything else was the person, and becomes a control event for everyone.

const SEEK_DRIFT_MS = 1000; // further off than this: seek
const NUDGE_START_MS = 40; // further off than this: change playbackRate a little...
const NUDGE_STOP_MS = 15; // ...until this close
const MAX_NUDGE = 0.1; // at most 10 % faster or slower
const MIN_NUDGE = 0.02;
const NUDGE_GAIN = 1 / 2000; // 200 ms off -> 10 % (capped): corrects at most MAX_NUDGE * 1000 ms per second
const PAUSED_TOLERANCE_MS = 8; // a paused group shows one frame: land on it (a frame lasts 33 ms at 30 fps)
const TICK_MS = 200;

const localNow = () => performance.timeOrigin + performance.now();

/** Server time estimated from "time" round trips: the sample with the shortest round trip wins. */
export class ServerClock {
  constructor(ask) {
    this.ask = ask; // async (clientTimeMs) => {server_time_ms}
    this.offsetMs = 0;
    this.rttMs = Infinity;
    this.synced = false;
  }

  now() { return localNow() + this.offsetMs; }

  async sync(samples = 5) {
    let best = null;
    for (let i = 0; i < samples; i += 1) {
      const sent = localNow();
      let answer;
      try {
        answer = await this.ask(sent);
      } catch (err) {
        break;
      }
      const received = localNow();
      if (!answer || typeof answer.server_time_ms !== "number") break;
      const rtt = received - sent;
      const offset = answer.server_time_ms + rtt / 2 - received;
      if (!best || rtt < best.rtt) best = { rtt, offset };
    }
    if (best) {
      this.offsetMs = best.offset;
      this.rttMs = best.rtt;
      this.synced = true;
    }
    return best;
  }
}

/**
 * Drives `video` to follow the group's playback and reports the person's own actions.
 * options.clock: a ServerClock; options.mayControl() says whether the person's actions can be sent now (not
 * when the host locked the controls, nor while disconnected): when not, the player goes back to the group;
 * options.onLocalAction({action, position_ms, rate?}) sends one; options.onStatus({blocked}|{refused}).
 */
export class PlaybackSync {
  constructor(video, { clock, mayControl = () => true, onLocalAction, onStatus = () => {} }) {
    this.video = video;
    this.clock = clock;
    this.mayControl = mayControl;
    this.onLocalAction = onLocalAction;
    this.onStatus = onStatus;
    this.group = null; // {playing, position_ms, rate, server_time_ms, seq}
    this.acceptAnySeq = true;
    this.requestedPaused = video.paused; // what this code last asked of the element
    this.requestedRate = video.playbackRate;
    this.pendingSeeks = []; // [{targetS, at}]
    this.seekCostMs = 120; // how long our seeks take while playing (learned)
    this.ourSeekStartedAt = null;
    this.nudging = false;
    this.waiting = false;
    this.blocked = false; // autoplay refused until the person interacts
    this.seekTimer = null;
    this.listeners = [];
    this._listen();
    this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  destroy() {
    clearInterval(this.timer);
    clearTimeout(this.seekTimer);
    for (const [name, fn] of this.listeners) this.video.removeEventListener(name, fn);
  }

  /** Accept the next state whatever its seq (after (re)joining: the server may have restarted). */
  expectFreshState() { this.acceptAnySeq = true; }

  get durationMs() {
    const d = this.video.duration;
    return Number.isFinite(d) && d > 0 ? d * 1000 : Infinity;
  }

  /** Where the group is now, by the server clock. */
  expectedMs() {
    const g = this.group;
    if (!g) return null;
    let position = g.position_ms;
    if (g.playing) position += (this.clock.now() - g.server_time_ms) * g.rate;
    return Math.max(0, Math.min(position, this.durationMs));
  }

  /** A `state` from the server. */
  applyState(state) {
    if (!state) return;
    if (!this.acceptAnySeq && this.group && typeof this.group.seq === "number" && state.seq <= this.group.seq) return;
    this.acceptAnySeq = false;
    this.group = { playing: !!state.playing, position_ms: state.position_ms, rate: state.rate || 1,
                   server_time_ms: state.server_time_ms, seq: state.seq };
    this.confirmed = this.group;
    this.nudging = false;
    this.tick(true);
  }

  /** The server refused the person's last action: follow the group's confirmed state again. */
  rollback() {
    if (!this.confirmed) return;
    this.group = this.confirmed;
    this.requestedPaused = this.video.paused;
    this.requestedRate = this.video.playbackRate;
    this.tick(true);
  }

  /** Re-check everything now (after the tab became visible, say). */
  resync() { this.tick(true); }

  // --- what this code does to the element (recorded, so its events are recognised) -----------------------

  _play() {
    if (!this.video.paused) return;
    this.requestedPaused = false;
    const result = this.video.play();
    if (result && typeof result.catch === "function") {
      result.then(() => { this._setBlocked(false); }).catch((err) => {
        if (this.video.paused) this.requestedPaused = true; // it did not start: record what the element does
        if (err && err.name === "NotAllowedError") this._setBlocked(true);
        // AbortError: a pause or a new source interrupted it; the next tick decides again
      });
    }
  }

  _pause() {
    if (this.video.paused) return;
    this.requestedPaused = true;
    this.video.pause();
  }

  _seek(ms) {
    const target = Math.max(0, ms / 1000);
    this.pendingSeeks.push({ targetS: target, at: performance.now() });
    if (this.pendingSeeks.length > 8) this.pendingSeeks.shift();
    this.ourSeekStartedAt = performance.now();
    this.video.currentTime = target;
  }

  _setRate(rate) {
    const value = Math.round(rate * 10000) / 10000;
    if (Math.abs(this.video.playbackRate - value) < 1e-4) return;
    this.requestedRate = value;
    this.video.playbackRate = value;
  }

  _setBlocked(blocked) {
    if (this.blocked === blocked) return;
    this.blocked = blocked;
    this.onStatus({ blocked });
  }

  // --- the loop ----------------------------------------------------------------------------------------

  tick(force = false) {
    const g = this.group;
    const video = this.video;
    if (!g || video.readyState < 1 /* HAVE_METADATA */) return;
    if (video.seeking || (this.waiting && !force)) return;
    // The element changes at once on play(), pause() or a new playbackRate, but its event comes later, as a task.
    // Until the person's change has been handled as their control, leave the element alone: correcting it now
    // would undo their action and then send it, and its opposite, to everyone.
    if (!video.ended && (video.paused !== this.requestedPaused
                         || Math.abs(video.playbackRate - this.requestedRate) > 1e-4)) return;
    const expected = this.expectedMs();
    const current = video.currentTime * 1000;

    if (!g.playing) {
      if (!video.paused) this._pause();
      if (video.ended) this.requestedPaused = true;
      if (Math.abs(current - expected) > PAUSED_TOLERANCE_MS) this._seek(expected);
      this._setRate(g.rate);
      this.nudging = false;
      return;
    }
    if (expected >= this.durationMs - 30) { // the group reached the end: let the element end by itself
      this._setRate(g.rate);
      if (!video.ended && Math.abs(current - expected) > SEEK_DRIFT_MS) this._seek(expected);
      return;
    }
    if (video.ended) { // play() on an ended element would first jump to 0: seek to the group instead
      this._seek(expected);
      return;
    }
    const drift = current - expected; // > 0: ahead of the group
    if (Math.abs(drift) > SEEK_DRIFT_MS) {
      this._setRate(g.rate);
      this.nudging = false;
      this._seek(expected + Math.min(this.seekCostMs, 500) * g.rate);
    } else if (Math.abs(drift) > NUDGE_START_MS || (this.nudging && Math.abs(drift) > NUDGE_STOP_MS)) {
      const size = Math.min(MAX_NUDGE, Math.max(MIN_NUDGE, Math.abs(drift) * NUDGE_GAIN));
      this._setRate(g.rate * (drift > 0 ? 1 - size : 1 + size));
      this.nudging = true;
    } else {
      this._setRate(g.rate);
      this.nudging = false;
    }
    if (video.paused && !this.blocked) this._play();
  }

  // --- the person's own actions ----------------------------------------------------------------------

  _listen() {
    const on = (name, fn) => {
      this.video.addEventListener(name, fn);
      this.listeners.push([name, fn]);
    };
    // A hidden tab's player is paused and resumed by the browser itself (Chrome does so for muted video):
    // nobody can press a button there, so such changes are not the person's.
    on("play", () => {
      if (document.hidden) { this.requestedPaused = false; return; }
      if (this.requestedPaused === false) return; // we asked for it (or it matches what we asked)
      this.requestedPaused = false;
      this._local("play");
    });
    on("pause", () => {
      this.waiting = false; // a paused element waits for no data: the loop must not stay held back by it
      if (this.video.ended || document.hidden) { this.requestedPaused = true; return; } // ended by itself
      if (this.requestedPaused === true) return;
      this.requestedPaused = true;
      this._local("pause");
    });
    on("seeking", () => {
      const now = performance.now();
      this.pendingSeeks = this.pendingSeeks.filter((seek) => now - seek.at < 5000);
      const time = this.video.currentTime;
      const index = this.pendingSeeks.findIndex((seek) => Math.abs(seek.targetS - time) < 0.002);
      if (index !== -1) {
        this.pendingSeeks.splice(index, 1);
        return;
      }
      this.ourSeekStartedAt = null;
      if (!this._allowed()) return; // "seeked" follows, and the loop puts the player back with the group
      // a drag along the native timeline seeks many times: tell the group about the last one
      clearTimeout(this.seekTimer);
      this._optimistic("seek", this.video.currentTime * 1000);
      this.seekTimer = setTimeout(() => this._local("seek"), 60);
    });
    on("seeked", () => {
      if (this.ourSeekStartedAt !== null && this.group && this.group.playing) {
        const cost = performance.now() - this.ourSeekStartedAt;
        this.seekCostMs = this.seekCostMs * 0.7 + Math.min(cost, 1000) * 0.3;
      }
      this.ourSeekStartedAt = null;
      this.tick(true);
    });
    on("ratechange", () => {
      const rate = this.video.playbackRate;
      if (Math.abs(rate - this.requestedRate) < 1e-4) return;
      this.requestedRate = rate;
      this._local("rate", rate);
    });
    on("waiting", () => { this.waiting = true; });
    for (const name of ["playing", "canplay", "canplaythrough"]) {
      on(name, () => {
        if (this.waiting) {
          this.waiting = false;
          this.tick(true); // caught up after buffering: check the drift straight away
        }
      });
    }
    on("loadedmetadata", () => this.tick(true));
  }

  /** Update the group state locally at once, so the loop follows the person, not the old state. */
  _optimistic(action, positionMs, rate) {
    if (!this.group) return;
    const g = this.group;
    const now = this.clock.now();
    this.group = {
      playing: action === "play" ? true : action === "pause" ? false : g.playing,
      position_ms: positionMs, rate: rate || g.rate, server_time_ms: now, seq: g.seq,
    };
  }

  _allowed() {
    if (this.mayControl()) return true;
    this.onStatus({ refused: true });
    return false;
  }

  _local(action, rate) {
    if (!this.group) return;
    if (!this._allowed()) { // back to the group
      this.requestedPaused = this.video.paused;
      this.requestedRate = this.video.playbackRate;
      this.tick(true);
      return;
    }
    const position = Math.round(this.video.currentTime * 1000);
    const control = { action, position_ms: position };
    if (action === "rate") control.rate = rate;
    this._optimistic(action, position, rate);
    if (action === "play") this._setBlocked(false);
    this.onLocalAction(control);
  }
}
