// The KV explorer's one script. It talks only to the process that served it (`/explorer/api/…`),
// which holds the credentials; every value is shown through textContent or a blob URL, never
// as markup.
"use strict";

const WRITE_HEADER = { "x-telnyx-edge-explorer": "1" };
const PAGE_SIZE = 100;
const HEX_LIMIT = 64 * 1024;
// Shown as images: raster formats only. An SVG (or any other markup) in a blob URL would be a
// document of this origin, able to run script if opened in a tab of its own.
const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"];

const state = {
  namespaces: [],
  current: null,   // the namespace shown
  prefix: "",
  cursors: [null], // cursors[i] starts page i
  page: 0,
  next: null,
  key: null,       // the key shown
  blobUrl: null,
  // Each load takes a ticket; an answer that arrives after a newer load started is dropped, so
  // a slow answer never shows under another namespace or key.
  keysTicket: 0,
  valueTicket: 0,
  loading: false,
};

const $ = (id) => document.getElementById(id);

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function say(message, isError = false) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("error", isError);
}

async function call(path, options = {}) {
  const response = await fetch("/explorer/api" + path, { credentials: "same-origin", ...options });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    try {
      const body = await response.json();
      if (body.error) message = body.error;
    } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response;
}

const json = async (path, options) => (await call(path, options)).json();
const bytes = (n) => n.toLocaleString("en-US") + (n === 1 ? " byte" : " bytes");
const nsPath = (id) => "/namespaces/" + encodeURIComponent(id);
const valuePath = (id, key) => nsPath(id) + "/value?key=" + encodeURIComponent(key);

async function loadNamespaces(select) {
  state.namespaces = await json("/namespaces");
  const list = $("namespace-list");
  list.replaceChildren();
  if (state.namespaces.length === 0) list.append(element("li", { text: "No namespaces yet." }));
  for (const ns of state.namespaces) {
    const meta = element("span", { class: "meta", text: ns.status });
    const button = element("button", { type: "button", "data-id": ns.id }, ns.name, meta);
    button.addEventListener("click", () => guarded(() => openNamespace(ns.id)));
    list.append(element("li", {}, button));
  }
  for (const ns of state.namespaces) countKeys(ns, 1000);
  const wanted = select ?? state.current?.id;
  if (wanted && state.namespaces.some((ns) => ns.id === wanted)) await openNamespace(wanted);
  else closeNamespace();
}

// The namespace's status and key count, in its entry of the list: up to `cap` keys (one
// listing request for the whole list, up to 10,000 for the namespace opened).
function countKeys(ns, cap = 10000) {
  const entry = Array.from($("namespace-list").querySelectorAll("button"))
    .find((button) => button.dataset.id === ns.id);
  const meta = entry && entry.querySelector(".meta");
  if (!meta) return;
  if (ns.status !== "provision_ok") { meta.textContent = ns.status; return; }
  json(nsPath(ns.id) + "/count?cap=" + cap).then(
    (c) => {
      const n = c.count.toLocaleString("en-US") + (c.more ? "+" : "");
      meta.textContent = `${ns.status} · ${n} key${c.count === 1 && !c.more ? "" : "s"}`;
    },
    () => {},
  );
}

function closeNamespace() {
  state.current = null;
  $("keys").hidden = true;
  closeValue();
}

async function openNamespace(id) {
  const ns = state.namespaces.find((n) => n.id === id);
  if (!ns) return;
  state.current = ns;
  for (const button of $("namespace-list").querySelectorAll("button")) {
    button.setAttribute("aria-current", String(button.dataset.id === id));
  }
  $("keys-title").textContent = `Keys of ${ns.name}`;
  countKeys(ns);
  state.keysTicket += 1;
  $("keys").hidden = false;
  closeValue();
  state.cursors = [null];
  state.page = 0;
  if (ns.status !== "provision_ok") {
    $("key-table").tBodies[0].replaceChildren();
    $("empty").hidden = false;
    $("empty").textContent = `The namespace is ${ns.status}; its keys can be read once it is provision_ok.`;
    $("previous").disabled = $("next").disabled = true;
    return;
  }
  await loadKeys();
}

async function loadKeys() {
  const ns = state.current;
  const ticket = ++state.keysTicket;
  let path = nsPath(ns.id) + "/keys?limit=" + PAGE_SIZE;
  if (state.prefix) path += "&prefix=" + encodeURIComponent(state.prefix);
  const cursor = state.cursors[state.page];
  if (cursor) path += "&cursor=" + encodeURIComponent(cursor);
  state.loading = true;
  $("previous").disabled = $("next").disabled = true;
  let page;
  try {
    page = await json(path);
  } finally {
    if (ticket === state.keysTicket) state.loading = false;
  }
  if (ticket !== state.keysTicket || state.current !== ns) return;
  state.next = page.cursor;
  const body = $("key-table").tBodies[0];
  body.replaceChildren();
  for (const key of page.keys) {
    const open = element("button", { type: "button", class: "key", text: key.key });
    open.addEventListener("click", () => guarded(() => openValue(key.key)));
    if (key.key === state.key) open.setAttribute("aria-current", "true");
    const row = element("tr", { "data-key": key.key },
      element("td", {}, open),
      element("td", { class: "num", text: bytes(key.size_bytes) }),
      element("td", { text: key.updated_at }));
    if (key.key === state.key) row.classList.add("selected");
    body.append(row);
  }
  $("empty").hidden = page.keys.length > 0;
  $("empty").textContent = state.prefix ? `No keys start with ${state.prefix}.` : "No keys.";
  $("previous").disabled = state.page === 0;
  $("next").disabled = !state.next;
  $("page-number").textContent = `Page ${state.page + 1}`;
}

function closeValue() {
  state.key = null;
  $("value").hidden = true;
  if (state.blobUrl) URL.revokeObjectURL(state.blobUrl);
  state.blobUrl = null;
}

function hexDump(data) {
  const lines = [];
  const shown = Math.min(data.length, HEX_LIMIT);
  for (let offset = 0; offset < shown; offset += 16) {
    const row = data.subarray(offset, Math.min(offset + 16, shown));
    const hex = Array.from(row, (b) => b.toString(16).padStart(2, "0")).join(" ");
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${offset.toString(16).padStart(8, "0")}  ${hex.padEnd(47)}  ${text}`);
  }
  if (data.length > shown) lines.push(`… ${bytes(data.length - shown)} more (download to see them)`);
  return lines.join("\n");
}

// Re-indents JSON text without parsing its values, so numbers keep every digit and repeated
// names stay (JSON.parse then JSON.stringify would change both). `text` is valid JSON.
function indentJson(text) {
  let out = "";
  let depth = 0;
  let inString = false;
  const newline = () => "\n" + "  ".repeat(depth);
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      out += c;
      if (c === "\\") { out += text[++i] ?? ""; } else if (c === '"') inString = false;
      continue;
    }
    if (c === " " || c === "\n" || c === "\r" || c === "\t") continue;
    if (c === '"') { inString = true; out += c; continue; }
    if (c === "{" || c === "[") {
      const close = c === "{" ? "}" : "]";
      let j = i + 1;
      while (" \n\r\t".includes(text[j])) j++;
      if (text[j] === close) { out += c + close; i = j; continue; }
      depth++;
      out += c + newline();
      continue;
    }
    if (c === "}" || c === "]") { depth--; out += newline() + c; continue; }
    if (c === ",") { out += "," + newline(); continue; }
    if (c === ":") { out += ": "; continue; }
    out += c;
  }
  return out;
}

async function openValue(key) {
  const ns = state.current;
  const ticket = ++state.valueTicket;
  const response = await call(valuePath(ns.id, key));
  const type = response.headers.get("x-value-content-type") || "application/octet-stream";
  const data = new Uint8Array(await response.arrayBuffer());
  if (ticket !== state.valueTicket || state.current !== ns) return;
  closeValue();
  state.key = key;
  for (const row of $("key-table").tBodies[0].rows) {
    const chosen = row.dataset.key === key;
    row.classList.toggle("selected", chosen);
    const button = row.querySelector("button");
    if (chosen) button.setAttribute("aria-current", "true"); else button.removeAttribute("aria-current");
  }
  $("value-title").textContent = key;
  const meta = $("value-meta");
  meta.replaceChildren(
    element("dt", { text: "Content type" }), element("dd", { text: type }),
    element("dt", { text: "Size" }), element("dd", { text: bytes(data.length) }));
  $("download").href = "/explorer/api" + valuePath(ns.id, key);
  const body = $("value-body");
  body.replaceChildren();
  let text = null;
  try { text = new TextDecoder("utf-8", { fatal: true }).decode(data); } catch (_) { text = null; }
  const essence = type.split(";")[0].trim().toLowerCase();
  if (IMAGE_TYPES.includes(essence)) {
    state.blobUrl = URL.createObjectURL(new Blob([data], { type: essence }));
    body.append(element("img", { src: state.blobUrl, alt: `The image stored at ${key}` }));
    body.dataset.view = "image";
  } else if (text !== null && (type.includes("json") || /^\s*[[{]/.test(text))) {
    let shown = text;
    body.dataset.view = "text";
    try { JSON.parse(text); shown = indentJson(text); body.dataset.view = "json"; } catch (_) { /* not JSON after all */ }
    body.append(element("pre", { text: shown }));
  } else if (text !== null) {
    body.append(element("pre", { text }));
    body.dataset.view = "text";
  } else {
    body.append(element("pre", { text: hexDump(data) }));
    body.dataset.view = "hex";
  }
  $("value").hidden = false;
  say(`Showing ${key} (${bytes(data.length)}).`);
}

function confirmed(message) {
  const dialog = $("confirm");
  $("confirm-text").textContent = message;
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

async function guarded(action) {
  try {
    await action();
  } catch (err) {
    say(err.message, true);
  }
}

async function waitUntilReady(id) {
  for (let attempt = 0; attempt < 120; attempt++) {
    const ns = (await json("/namespaces")).find((n) => n.id === id);
    if (!ns || ns.status !== "pending") return;
    await new Promise((r) => setTimeout(r, Math.min(500 * (attempt + 1), 5000)));
  }
}

function wire() {
  $("create-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const name = $("create-name").value.trim();
      say(`Creating ${name}…`);
      const ns = await json("/namespaces", {
        method: "POST",
        headers: { "content-type": "application/json", ...WRITE_HEADER },
        body: JSON.stringify({ name }),
      });
      $("create-name").value = "";
      await loadNamespaces(ns.id);
      if (ns.status === "pending") {
        say(`Waiting for ${name} to be ready…`);
        await waitUntilReady(ns.id);
        await loadNamespaces(ns.id);
      }
      say(`Created namespace ${name}.`);
    });
  });

  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.prefix = $("prefix").value;
    state.cursors = [null];
    state.page = 0;
    guarded(loadKeys);
  });
  $("previous").addEventListener("click", () => {
    if (!state.loading && state.page > 0) { state.page -= 1; guarded(loadKeys); }
  });
  $("next").addEventListener("click", () => {
    if (!state.loading && state.next) {
      state.cursors[state.page + 1] = state.next;
      state.page += 1;
      state.next = null;
      guarded(loadKeys);
    }
  });

  $("put-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const ns = state.current;
      const key = $("put-key").value;
      const file = $("put-file").files[0];
      const body = file ?? new TextEncoder().encode($("put-value").value);
      const type = $("put-type").value.trim() || (file && file.type) || "";
      let path = valuePath(ns.id, key);
      const ttl = $("put-ttl").value.trim();
      if (ttl) path += "&ttl_secs=" + encodeURIComponent(ttl);
      const headers = { ...WRITE_HEADER };
      if (type) headers["content-type"] = type;
      const written = await json(path, { method: "PUT", headers, body });
      $("put-form").reset();
      $("put-panel").open = false;
      countKeys(ns);
      await loadKeys();
      await openValue(key);
      say(`${written.created ? "Created" : "Replaced"} key ${key} (${bytes(written.size_bytes)}).`);
      $("value-body").focus();
    });
  });

  $("delete-key").addEventListener("click", () => guarded(async () => {
    const ns = state.current;
    const key = state.key;
    if (!(await confirmed(`Delete key ${key} from ${ns.name}? This cannot be undone.`))) return;
    await call(valuePath(ns.id, key), { method: "DELETE", headers: WRITE_HEADER });
    closeValue();
    say(`Deleted key ${key}.`);
    countKeys(ns);
    await loadKeys();
    $("prefix").focus();
  }));

  $("delete-namespace").addEventListener("click", () => guarded(async () => {
    const ns = state.current;
    if (!(await confirmed(`Delete namespace ${ns.name} and every key in it? This cannot be undone.`))) return;
    await call(nsPath(ns.id), { method: "DELETE", headers: WRITE_HEADER });
    say(`Deleting namespace ${ns.name}.`);
    state.current = null;
    await loadNamespaces();
    $("create-name").focus();
  }));
}

async function start() {
  wire();
  await guarded(async () => {
    const info = await json("/info");
    $("target").textContent = `Showing ${info.target}`;
    await loadNamespaces();
    say("");
  });
}

start();
