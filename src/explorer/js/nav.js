// Where the page is, kept in the address's fragment (`#ns=…&key=…&prefix=…&q=…&page=…`), so a
// reload, the back button and a link come back to it; the fragment never reaches a server.
// And the keyboard: `/` searches, `j`/`k` move, Enter opens, `e` edits, Delete deletes.

import { $, state, hooks } from "./dom.js";

export function fragment() {
  const params = new URLSearchParams();
  if (state.current) params.set("ns", state.current.id);
  if (state.prefix) params.set("prefix", state.prefix);
  if (state.search) params.set("q", state.search);
  if (state.page > 0 && !state.search) params.set("page", String(state.page + 1));
  if (state.sort) params.set("sort", (state.sort.descending ? "-" : "") + state.sort.column);
  if (state.tree) params.set("view", "tree");
  if (state.key) params.set("key", state.key);
  if (!$("log").hidden) params.set("log", "1");
  const text = params.toString();
  return text ? "#" + text : "";
}

let applying = false;

// Records where the page is: a new history entry when it moved somewhere else.
export function remember() {
  if (applying) return;
  const wanted = fragment();
  if (wanted === location.hash || (wanted === "" && location.hash === "")) return;
  history.pushState(null, "", wanted || location.pathname);
}

export function wanted() {
  const params = new URLSearchParams(location.hash.slice(1));
  const sort = params.get("sort");
  return {
    ns: params.get("ns"),
    key: params.get("key"),
    prefix: params.get("prefix") ?? "",
    search: params.get("q") ?? "",
    page: Math.max(0, (parseInt(params.get("page") ?? "1", 10) || 1) - 1),
    sort: sort ? { column: sort.replace(/^-/, ""), descending: sort.startsWith("-") } : null,
    tree: params.get("view") === "tree",
    log: params.get("log") === "1",
  };
}

// Puts where the page is in the address, in place of what it said (a page past the last).
export function correctAddress() {
  history.replaceState(null, "", fragment() || location.pathname);
}

// Goes where the fragment says, without adding history.
export async function apply() {
  applying = true;
  try {
    await hooks.goTo(wanted());
  } finally {
    applying = false;
  }
}

// A row's box is not typing: the keys still move, open and delete with focus on it.
const typing = (target) => target.closest("input:not([type=checkbox]), textarea, select, [contenteditable]") !== null;

// The tree's keys that can be seen (not inside a folded group).
const treeKeys = () => Array.from($("key-tree").querySelectorAll("button.key")).filter((b) => b.getClientRects().length > 0);

// Moves the keyboard's row by `step` and focuses its key; in the tree, over the keys shown.
function move(step) {
  if (state.tree) {
    const keys = treeKeys();
    if (keys.length === 0) return;
    const at = keys.indexOf(document.activeElement);
    const next = keys[Math.max(0, Math.min(keys.length - 1, at < 0 ? (step > 0 ? 0 : keys.length - 1) : at + step))];
    next.focus();
    next.scrollIntoView({ block: "nearest" });
    return;
  }
  const rows = Array.from($("key-table").tBodies[0].rows);
  if (rows.length === 0) return;
  // From the row whose box (or key) has focus, if any.
  const at = rows.indexOf(document.activeElement?.closest("tr"));
  if (at >= 0) state.focusRow = at;
  state.focusRow = Math.max(0, Math.min(rows.length - 1, state.focusRow + step));
  rows.forEach((row, i) => row.classList.toggle("focused", i === state.focusRow));
  const button = rows[state.focusRow].querySelector("button.key");
  button.focus();
  button.scrollIntoView({ block: "nearest" });
}

function focusedKey() {
  if (state.tree) return document.activeElement?.closest("#key-tree button.key")?.dataset.key ?? state.key;
  const rows = $("key-table").tBodies[0].rows;
  const row = rows[state.focusRow];
  return row ? row.dataset.key : state.key;
}

export function onKey(event) {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (document.querySelector("dialog[open]") || typing(event.target)) return;
  if (!state.current) return;
  switch (event.key) {
    case "/":
      event.preventDefault();
      $("search").focus();
      break;
    case "j": move(1); break;
    case "k": move(-1); break;
    case "Enter": {
      if (event.target.closest("button, a, summary")) return; // the focused control does it
      const key = focusedKey();
      if (key) { event.preventDefault(); hooks.openValue(key, { focus: true }); }
      break;
    }
    case "e":
      if (state.value && state.info.writable) { event.preventDefault(); hooks.edit(); }
      break;
    case "Delete": {
      // Like `e`: the key shown when one is open, else the one j/k moved to.
      const key = state.key ?? focusedKey();
      if (key && state.info.writable) { event.preventDefault(); hooks.deleteKey(key); }
      break;
    }
    default:
  }
}
