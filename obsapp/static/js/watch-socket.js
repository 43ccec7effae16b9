// A small Socket.IO v5 client (Engine.IO v4 protocol, WebSocket transport only), written for obsapp so the
// watch page needs no CDN, no bundler and no third-party script. It speaks just what the watch page needs:
// one namespace, events with JSON payloads, acknowledgements, the server's ping/pong heartbeat, and
// automatic reconnection with backoff. The browser sends the session cookie and its Origin itself.
//
// Wire format, one WebSocket text frame per Engine.IO packet:
//   0{"sid","pingInterval","pingTimeout",...}  open (server)      2 / 3   ping (server) / pong (client)
//   1                                          close              4...    message: a Socket.IO packet:
//   40/watch,{auth}   connect the namespace    40/watch,{"sid"}  connected   44/watch,{...}  refused
//   42/watch,[name,data]      event             42/watch,7[name,data]  event asking for ack 7
//   43/watch,7[answer]        acknowledgement   41/watch,         namespace disconnect

const EIO_OPEN = "0", EIO_CLOSE = "1", EIO_PING = "2", EIO_PONG = "3", EIO_MESSAGE = "4";
const SIO_CONNECT = "0", SIO_DISCONNECT = "1", SIO_EVENT = "2", SIO_ACK = "3", SIO_CONNECT_ERROR = "4";

/** Parse a Socket.IO packet (after the Engine.IO "4"): {type, nsp, id, data}. */
export function parsePacket(text) {
  let i = 0;
  const type = text[i++];
  let nsp = "/";
  if (text[i] === "/") {
    const comma = text.indexOf(",", i);
    nsp = comma === -1 ? text.slice(i) : text.slice(i, comma);
    i = comma === -1 ? text.length : comma + 1;
  }
  let digits = "";
  while (i < text.length && text[i] >= "0" && text[i] <= "9") digits += text[i++];
  const body = text.slice(i);
  return { type, nsp, id: digits ? Number(digits) : null, data: body ? JSON.parse(body) : undefined };
}

export function encodePacket(type, nsp, data, id = null) {
  const prefix = nsp && nsp !== "/" ? `${nsp},` : "";
  return EIO_MESSAGE + type + prefix + (id === null ? "" : String(id)) + (data === undefined ? "" : JSON.stringify(data));
}

export class SocketClient {
  /**
   * @param {object} options
   *   namespace: e.g. "/watch"; path: "/socket.io/"; auth: object sent with the namespace connect;
   *   minDelayMs / maxDelayMs: reconnection backoff; ackTimeoutMs: how long request() waits.
   */
  constructor({ namespace = "/", path = "/socket.io/", auth = null, minDelayMs = 500, maxDelayMs = 5000,
                ackTimeoutMs = 8000 } = {}) {
    this.namespace = namespace;
    this.path = path;
    this.auth = auth;
    this.minDelayMs = minDelayMs;
    this.maxDelayMs = maxDelayMs;
    this.ackTimeoutMs = ackTimeoutMs;
    this.status = "idle"; // idle | connecting | connected | reconnecting | refused | closed
    this.handlers = new Map();
    this.acks = new Map();
    this.nextAckId = 0;
    this.attempt = 0;
    this.ws = null;
    this.heartbeat = null;
    this.retryTimer = null;
    this.wanted = false;
    this._online = () => { if (this.wanted && this.status === "reconnecting") this._retryNow(); };
    window.addEventListener("online", this._online);
  }

  /** Listen to a server event, or to the client's own: "connect", "disconnect", "status", "connect_error". */
  on(event, handler) {
    if (!this.handlers.has(event)) this.handlers.set(event, new Set());
    this.handlers.get(event).add(handler);
    return () => this.handlers.get(event).delete(handler);
  }

  get connected() { return this.status === "connected"; }

  connect() {
    this.wanted = true;
    if (this.ws) return;
    this._setStatus(this.attempt ? "reconnecting" : "connecting");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let ws;
    try {
      ws = new WebSocket(`${scheme}://${location.host}${this.path}?EIO=4&transport=websocket`);
    } catch (err) {
      this._scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onmessage = (message) => {
      try {
        this._onFrame(message.data);
      } catch (err) {
        console.error("watch: could not read a message from the server", err);
      }
    };
    ws.onclose = () => this._onClose(ws);
    ws.onerror = () => { /* onclose follows and schedules the retry */ };
  }

  /** Close for good (no reconnection). */
  close() {
    this.wanted = false;
    clearTimeout(this.retryTimer);
    clearTimeout(this.heartbeat);
    if (this.ws) {
      try {
        if (this.ws.readyState === WebSocket.OPEN) {
          this.ws.send(encodePacket(SIO_DISCONNECT, this.namespace));
          this.ws.send(EIO_CLOSE);
        }
        this.ws.close();
      } catch (err) { /* already closing */ }
    }
    this.ws = null;
    this._failAcks("closed");
    this._setStatus("closed");
  }

  /** Send an event; returns false when not connected (nothing is queued: state is re-sent on reconnect). */
  emit(event, data) {
    if (!this.connected) return false;
    this.ws.send(encodePacket(SIO_EVENT, this.namespace, data === undefined ? [event] : [event, data]));
    return true;
  }

  /** Send an event and wait for the server's acknowledgement (rejects when disconnected or on timeout). */
  request(event, data, timeoutMs = this.ackTimeoutMs) {
    if (!this.connected) return Promise.reject(new Error("Not connected."));
    const id = this.nextAckId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.acks.delete(id);
        reject(new Error(`No answer to ${event}.`));
      }, timeoutMs);
      this.acks.set(id, { resolve, reject, timer });
      this.ws.send(encodePacket(SIO_EVENT, this.namespace, data === undefined ? [event] : [event, data], id));
    });
  }

  _fire(event, ...args) {
    for (const handler of [...(this.handlers.get(event) || [])]) {
      try {
        handler(...args);
      } catch (err) {
        console.error(`watch: a "${event}" handler failed`, err);
      }
    }
  }

  _setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this._fire("status", status);
  }

  _onFrame(frame) {
    if (typeof frame !== "string" || !frame) return;
    const kind = frame[0];
    if (kind === EIO_OPEN) {
      const open = JSON.parse(frame.slice(1));
      this.pingDeadlineMs = (open.pingInterval || 25000) + (open.pingTimeout || 20000);
      this._armHeartbeat();
      this.ws.send(encodePacket(SIO_CONNECT, this.namespace, this.auth || undefined));
    } else if (kind === EIO_PING) {
      this._armHeartbeat();
      this.ws.send(EIO_PONG + frame.slice(1));
    } else if (kind === EIO_CLOSE) {
      this.ws.close();
    } else if (kind === EIO_MESSAGE) {
      this._onPacket(parsePacket(frame.slice(1)));
    }
  }

  _onPacket(packet) {
    if (packet.nsp !== this.namespace) return;
    if (packet.type === SIO_CONNECT) {
      this.attempt = 0;
      this._setStatus("connected");
      this._fire("connect");
    } else if (packet.type === SIO_CONNECT_ERROR) {
      // refused (not signed in, say): trying again would be refused again
      this.wanted = false;
      this._fire("connect_error", packet.data);
      this._setStatus("refused");
      this.ws.close();
    } else if (packet.type === SIO_EVENT && Array.isArray(packet.data)) {
      const [event, ...args] = packet.data;
      if (packet.id !== null) {
        this.ws.send(encodePacket(SIO_ACK, this.namespace, [], packet.id));
      }
      this._fire(event, ...args);
    } else if (packet.type === SIO_ACK) {
      const pending = this.acks.get(packet.id);
      if (pending) {
        this.acks.delete(packet.id);
        clearTimeout(pending.timer);
        pending.resolve(Array.isArray(packet.data) ? packet.data[0] : packet.data);
      }
    } else if (packet.type === SIO_DISCONNECT) {
      this.wanted = false; // the server let us go on purpose
      this.ws.close();
    }
  }

  _armHeartbeat() {
    clearTimeout(this.heartbeat);
    // no ping from the server for longer than it promised: the line is dead, even if the socket says open
    this.heartbeat = setTimeout(() => { if (this.ws) this.ws.close(); }, this.pingDeadlineMs || 45000);
  }

  _onClose(ws) {
    if (ws !== this.ws) return;
    this.ws = null;
    clearTimeout(this.heartbeat);
    const wasConnected = this.status === "connected";
    this._failAcks("disconnected");
    if (wasConnected) this._fire("disconnect");
    if (this.wanted) this._scheduleRetry();
    else if (this.status !== "refused") this._setStatus("closed");
  }

  _scheduleRetry() {
    this.attempt += 1;
    this._setStatus("reconnecting");
    const base = Math.min(this.maxDelayMs, this.minDelayMs * 2 ** (this.attempt - 1));
    const delay = base * (0.5 + Math.random() * 0.5);
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  _retryNow() {
    clearTimeout(this.retryTimer);
    this.connect();
  }

  _failAcks(reason) {
    for (const [id, pending] of this.acks) {
      clearTimeout(pending.timer);
      pending.reject(new Error(reason));
      this.acks.delete(id);
    }
  }
}
