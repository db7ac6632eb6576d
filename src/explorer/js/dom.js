// What every module shares: the page's state, element helpers, messages and the confirmation
// dialog. Values are only ever put in the page with textContent, never as markup.

export const state = {
  info: null,       // /explorer/api/info
  namespaces: [],
  current: null,    // the namespace shown
  prefix: "",
  search: "",       // a substring or glob over key names (client side); "" for pages
  cursors: [null],  // cursors[i] starts page i
  page: 0,
  next: null,
  total: null,      // {count, more} of the keys under the prefix
  rows: [],         // the keys listed: a page, or the search's matches
  expiry: false,    // whether rows carry expires_ms
  sort: null,       // {column, descending}
  tree: false,      // tree view instead of the table
  selected: new Set(),
  anchor: null,     // the last row clicked, for shift-click ranges
  focusRow: -1,     // the row j/k moved to
  key: null,        // the key shown
  value: null,      // {key, type, data, digest, expires}
  view: null,       // the value's view shown
  // Each load takes a ticket; an answer that arrives after a newer load started is dropped, so
  // a slow answer never shows under another namespace or key.
  keysTicket: 0,
  valueTicket: 0,
  selectTicket: 0,  // select all matching: its own, so it never cancels a listing
  loading: false,
};

// What one module asks of another, filled in by main.js (so modules do not import in a cycle).
export const hooks = {};

export const $ = (id) => document.getElementById(id);

export function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name === "text") node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

// A polite message; clears the error region.
export function say(message) {
  $("status").textContent = message;
  $("alert").textContent = "";
}

// An error, announced at once (role=alert); the polite message it ends is cleared.
export function fail(message) {
  $("status").textContent = "";
  $("alert").textContent = message;
}

// Whether a call failed because the namespace shown is gone (deleted elsewhere).
export const namespaceGone = (err) => (err.status === 404 && /namespace not found/i.test(err.message))
  || (err.status === 409 && /status: deleting/.test(err.message));

export async function guarded(action) {
  try {
    await action();
  } catch (err) {
    if (namespaceGone(err) && hooks.namespaceGone) {
      try { await hooks.namespaceGone(); } catch (again) { fail(again.message); }
    } else {
      fail(err.message);
    }
  }
}

export const count = (n) => n.toLocaleString("en-US");
export const bytes = (n) => count(n) + (n === 1 ? " byte" : " bytes");
export const plural = (n, word, many = word + "s") => `${count(n)} ${n === 1 ? word : many}`;

// Unix ms as the API writes times: RFC 3339 in UTC to the second.
export const isoTime = (ms) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

// A time in a list: the time of day when it is today (UTC), else the date and minute; the
// whole of it in a <time> element's title and datetime.
export function shortTime(iso) {
  const today = new Date().toISOString().slice(0, 10);
  const shown = iso.slice(0, 10) === today ? iso.slice(11, 19) : iso.slice(0, 16).replace("T", " ");
  return element("time", { datetime: iso, title: iso, text: shown });
}

// Seconds left as "1 h 02 min", "4 min 05 s", "12 s".
export function timeLeft(ms) {
  if (ms <= 0) return "expired";
  const s = Math.ceil(ms / 1000);
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60), r = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  if (d > 0) return `${d} d ${two(h)} h`;
  if (h > 0) return `${h} h ${two(m)} min`;
  if (m > 0) return `${m} min ${two(r)} s`;
  return `${r} s`;
}

// Asks in the confirmation dialog; with `typed`, the user must type that text first. Focus
// goes back where it was when the dialog closes.
export function confirmed(message, { action = "Delete", typed = null } = {}) {
  const dialog = $("confirm");
  const back = document.activeElement;
  $("confirm-text").textContent = message;
  $("confirm-ok").textContent = action;
  const field = $("confirm-typed");
  const wrap = $("confirm-typed-wrap");
  wrap.hidden = typed === null;
  field.value = "";
  $("confirm-typed-label").textContent = typed === null ? "" : `Type ${typed} to confirm`;
  $("confirm-ok").disabled = typed !== null;
  field.oninput = () => { $("confirm-ok").disabled = field.value !== typed; };
  // Enter in the field confirms once the text matches (the form's first button is Cancel).
  field.onkeydown = (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    if (field.value === typed) dialog.close("ok");
  };
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (back && back.focus) back.focus();
      resolve(dialog.returnValue === "ok" && (typed === null || field.value === typed));
    }, { once: true });
    dialog.showModal();
    if (typed !== null) field.focus();
  });
}
