// The walking skeleton's page: connect, send, and show every frame as it arrives.
const $ = (id) => document.getElementById(id);
const log = $("log");
const rendered = new Map(); // messageId → <li>
let socket;

function setState(state, text) {
  $("state").dataset.state = state;
  $("state").textContent = text;
}

function render(message) {
  let li = rendered.get(message.messageId);
  if (!li) {
    li = document.createElement("li");
    rendered.set(message.messageId, li);
    const after = [...log.children].find((other) => Number(other.dataset.createdAt) > message.createdAt);
    log.insertBefore(li, after ?? null);
  }
  li.dataset.role = message.role;
  li.dataset.type = message.messageType;
  li.dataset.createdAt = String(message.createdAt);
  li.textContent = message.message;
  const meta = document.createElement("span");
  meta.className = "meta";
  meta.textContent = `${message.role} · ${message.messageType} · ${new Date(message.createdAt).toLocaleTimeString()}${message.stopped ? " · stopped" : ""}`;
  li.prepend(meta);
}

function renderDelta(frame) {
  let li = rendered.get(frame.messageId);
  if (!li) {
    li = document.createElement("li");
    li.dataset.role = "AGENT";
    li.dataset.type = "CONVERSATION";
    li.dataset.createdAt = String(Date.now());
    li.dataset.streaming = "";
    rendered.set(frame.messageId, li);
    log.append(li);
  }
  if ("streaming" in li.dataset) li.textContent = li.textContent.slice(0, frame.offset) + frame.delta;
}

function onFrame(frame) {
  $("frames").textContent += JSON.stringify(frame) + "\n";
  if (frame.type === "message") render(frame.message);
  else if (frame.type === "delta") renderDelta(frame);
  else if (frame.type === "session") {
    const url = new URL(location.href);
    url.searchParams.set("session", frame.session.sessionId);
    history.replaceState(null, "", url);
    $("session").textContent = `session ${frame.session.sessionId}`;
    for (const message of frame.messages) render(message);
  } else if (frame.type === "error") {
    const li = document.createElement("li");
    li.dataset.type = "SYSTEM_LOG";
    li.textContent = `⚠ ${frame.message}`;
    log.append(li);
  }
}

async function connect() {
  const user = $("user").value.trim() || "alice";
  setState("connecting", "connecting…");
  const response = await fetch(`/dev/token?user=${encodeURIComponent(user)}`);
  const { token, error } = await response.json();
  if (!token) return setState("closed", `sign-in failed: ${error}`);
  const sessionId = new URL(location.href).searchParams.get("session");
  const url = new URL("/ws", location.href);
  url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
  url.searchParams.set("token", token);
  if (sessionId) url.searchParams.set("sessionId", sessionId);
  socket = new WebSocket(url);
  socket.onopen = () => {
    setState("open", "connected");
    socket.send(JSON.stringify({ action: "getSession" }));
  };
  socket.onmessage = (event) => onFrame(JSON.parse(event.data));
  socket.onclose = (event) => setState("closed", `disconnected (${event.code})`);
}

$("send").addEventListener("submit", (event) => {
  event.preventDefault();
  const message = $("message").value;
  if (!message.trim() || socket?.readyState !== WebSocket.OPEN) return;
  socket.send(JSON.stringify({ action: "putMessage", message, clientMessageId: crypto.randomUUID() }));
  $("message").value = "";
});
$("message").addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("send").requestSubmit();
  }
});
$("user").addEventListener("change", () => {
  // A session belongs to its user: another user starts a new one.
  const url = new URL(location.href);
  url.searchParams.delete("session");
  history.replaceState(null, "", url);
  log.replaceChildren();
  rendered.clear();
  socket?.close();
  connect();
});
connect();
