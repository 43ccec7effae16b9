// The watch page's line to the server: the maintained socket.io-client (vendored, see scripts/vendor.py).
// It starts on HTTP long-polling and upgrades to a WebSocket where it can, so a school network that blocks
// WebSockets still works; it keeps the heartbeat and reconnects with backoff by itself. This module only
// turns its events into one connection status for the page, and gives requests (events with an answer) a
// timeout. The browser sends the session cookie itself (same origin). `transports` comes from the server:
// ["websocket"] when several processes share one port (no long-polling there, see docs/operations.md).
import { io } from "../vendor/socket.io-client-4.8.4/socket.io.esm.min.js";

// idle | connecting | connected | reconnecting | refused | closed
export class WatchConnection {
  constructor({ namespace = "/watch", ackTimeoutMs = 8000, transports = ["polling", "websocket"] } = {}) {
    this.ackTimeoutMs = ackTimeoutMs;
    this.status = "idle";
    this.statusListeners = new Set();
    this.socket = io(namespace, {
      autoConnect: false,
      transports,
      reconnectionDelay: 500,
      reconnectionDelayMax: 5000,
    });
    const socket = this.socket;
    socket.on("connect", () => this.setStatus("connected"));
    socket.on("disconnect", () => this.setStatus(socket.active ? "reconnecting" : "closed"));
    socket.on("connect_error", () => {
      // active: a network failure, the manager tries again; not active: the server refused (not signed in)
      this.setStatus(socket.active ? "reconnecting" : "refused");
    });
    socket.io.on("reconnect_attempt", () => this.setStatus("reconnecting"));
  }

  get connected() { return this.socket.connected; }

  /** "long-polling" or "websocket" while connected (shown to people who ask why it is slow). */
  get transport() {
    const engine = this.socket.io.engine;
    return engine && engine.transport ? engine.transport.name : null;
  }

  /** Listen to a server event, or to "connect", "disconnect", or "status" (the status words above). */
  on(event, handler) {
    if (event === "status") {
      this.statusListeners.add(handler);
      return () => this.statusListeners.delete(handler);
    }
    this.socket.on(event, handler);
    return () => this.socket.off(event, handler);
  }

  connect() {
    if (this.socket.connected || this.socket.active) return;
    this.setStatus("connecting");
    this.socket.connect();
  }

  /** Close for good (no reconnection). */
  close() {
    this.socket.disconnect();
    this.setStatus("closed");
  }

  /** Send an event; false when not connected (nothing is queued: the state is sent again on reconnect). */
  emit(event, data) {
    if (!this.socket.connected) return false;
    this.socket.emit(event, data);
    return true;
  }

  /** Send an event and wait for the server's answer (rejects when disconnected or after the timeout). */
  request(event, data, timeoutMs = this.ackTimeoutMs) {
    if (!this.socket.connected) return Promise.reject(new Error("Not connected."));
    return this.socket.timeout(timeoutMs).emitWithAck(event, data);
  }

  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    for (const listener of [...this.statusListeners]) {
      try {
        listener(status);
      } catch (err) {
        console.error("watch: a status listener failed", err);
      }
    }
  }
}
