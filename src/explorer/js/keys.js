// The list of keys: a page of the namespace (or the search's matches), as a sortable table
// with size, update time, time left and expiry, or as a tree grouped by `/`; rows can be
// selected (click, shift-click for a range) for the bulk actions.

import { keyPage, nsPath, json } from "./api.js";
import { $, element, state, hooks, bytes, count, isoTime, timeLeft, plural, shortTime } from "./dom.js";

export const PAGE_SIZE = 100;
// The most rows drawn at once (a search may match many more; all of them can be selected).
export const DRAWN = 1000;

const COLUMNS = [
  { id: "key", label: "Key", value: (k) => k.key },
  { id: "size", label: "Size", value: (k) => k.size_bytes, num: true },
  { id: "updated", label: "Updated", value: (k) => k.updated_at },
  { id: "ttl", label: "TTL left", value: (k) => k.expires_ms ?? Infinity, num: true },
  { id: "expires", label: "Expires", value: (k) => k.expires_ms ?? Infinity },
];

export function drawHead() {
  const row = $("key-head");
  const all = element("input", { type: "checkbox", id: "select-page", "aria-label": "Select every key shown" });
  all.addEventListener("change", () => {
    for (const k of state.rows.slice(0, DRAWN)) {
      if (all.checked) state.selected.add(k.key); else state.selected.delete(k.key);
    }
    drawRows();
    hooks.selectionChanged();
  });
  row.replaceChildren(element("th", { scope: "col", class: "pick" }, all));
  for (const column of COLUMNS) {
    const sorted = state.sort?.column === column.id;
    const button = element("button", { type: "button", class: "sort", "data-column": column.id, text: column.label });
    button.addEventListener("click", () => sortBy(column.id));
    const th = element("th", { scope: "col", class: column.num ? "num" : "" }, button);
    th.setAttribute("aria-sort", sorted ? (state.sort.descending ? "descending" : "ascending") : "none");
    row.append(th);
  }
}

// Sorts the rows shown by a column; again the same column reverses it.
export function sortBy(id) {
  const descending = state.sort?.column === id ? !state.sort.descending : false;
  state.sort = { column: id, descending };
  applySort();
  drawHead();
  drawRows();
  hooks.remember();
}

// Puts the rows in the order `state.sort` asks for (as listed when none).
export function applySort() {
  if (!state.sort) return;
  const column = COLUMNS.find((c) => c.id === state.sort.column);
  if (!column) { state.sort = null; return; }
  const { value } = column;
  const descending = state.sort.descending;
  state.rows.sort((a, b) => {
    const x = value(a), y = value(b);
    const order = x < y ? -1 : x > y ? 1 : 0;
    return descending ? -order : order;
  });
}

function ttlCells(k) {
  if (!state.expiry) {
    const unknown = "The service does not say when a key expires";
    return [element("td", { class: "num muted", title: unknown, text: "—" }),
      element("td", { class: "muted", title: unknown, text: "—" })];
  }
  if (k.expires_ms == null) {
    return [element("td", { class: "num muted", text: "never" }), element("td", { class: "muted", text: "—" })];
  }
  return [element("td", { class: "num ttl", "data-expires": String(k.expires_ms), text: timeLeft(k.expires_ms - Date.now()) }),
    element("td", {}, shortTime(isoTime(k.expires_ms)))];
}

export function drawRows() {
  const body = $("key-table").tBodies[0];
  body.replaceChildren();
  const shown = state.rows.slice(0, DRAWN);
  shown.forEach((k, index) => {
    const open = element("button", { type: "button", class: "key", text: k.key });
    open.addEventListener("click", () => hooks.openValue(k.key));
    const pick = element("input", { type: "checkbox", "aria-label": `Select ${k.key}` });
    pick.checked = state.selected.has(k.key);
    pick.addEventListener("click", (event) => pickRow(index, event.shiftKey, pick.checked));
    const row = element("tr", { "data-key": k.key },
      element("td", { class: "pick" }, pick),
      element("td", {}, open),
      element("td", { class: "num", text: bytes(k.size_bytes) }),
      element("td", {}, shortTime(k.updated_at)),
      ...ttlCells(k));
    if (k.key === state.key) { row.classList.add("selected"); open.setAttribute("aria-current", "true"); }
    if (index === state.focusRow) row.classList.add("focused");
    body.append(row);
  });
  syncPageBox();
  $("key-table").hidden = state.tree;
  $("key-tree").hidden = !state.tree;
  if (state.tree) drawTree();
}

// The heading's box: ticked when every row drawn is, half when some are.
function syncPageBox() {
  const page = $("select-page");
  if (!page) return;
  const shown = state.rows.slice(0, DRAWN);
  const picked = shown.filter((k) => state.selected.has(k.key)).length;
  page.checked = shown.length > 0 && picked === shown.length;
  page.indeterminate = picked > 0 && picked < shown.length;
}

// A click on a row's box; with shift, every row from the last one clicked takes its state.
function pickRow(index, range, on) {
  const rows = state.rows;
  const from = range && state.anchor !== null ? Math.min(state.anchor, index) : index;
  const to = range && state.anchor !== null ? Math.max(state.anchor, index) : index;
  for (let i = from; i <= to; i++) {
    if (on) state.selected.add(rows[i].key); else state.selected.delete(rows[i].key);
  }
  state.anchor = index;
  if (range) {
    drawRows();
    // Drawn anew: focus goes back to the box that was clicked.
    $("key-table").tBodies[0].rows[index]?.querySelector("input")?.focus();
  } else {
    syncPageBox();
  }
  hooks.selectionChanged();
}

// The keys grouped by `/`, each group foldable, with its number of keys.
function drawTree() {
  const root = { children: new Map(), keys: [] };
  for (const k of state.rows) {
    const parts = k.key.split("/");
    let node = root;
    for (const part of parts.slice(0, -1)) {
      if (!node.children.has(part)) node.children.set(part, { children: new Map(), keys: [], total: 0 });
      node = node.children.get(part);
      node.total += 1;
    }
    node.keys.push(k);
  }
  const list = (node) => {
    const ul = element("ul", { role: "group" });
    for (const [name, child] of node.children) {
      const details = element("details", {}, element("summary", { text: `${name}/ (${count(child.total)})` }), list(child));
      ul.append(element("li", {}, details));
    }
    for (const k of node.keys) {
      const open = element("button", { type: "button", class: "key", "data-key": k.key, text: k.key.split("/").pop() || k.key });
      open.addEventListener("click", () => hooks.openValue(k.key));
      ul.append(element("li", {}, open));
    }
    return ul;
  };
  $("key-tree").replaceChildren(list(root));
}

// Time left counts down, once a second.
export function tick() {
  const now = Date.now();
  for (const cell of document.querySelectorAll("#key-table td.ttl")) {
    cell.textContent = timeLeft(Number(cell.dataset.expires) - now);
  }
  hooks.tickValue?.(now);
}

// The number of keys under the prefix (up to 10,000), for the pager.
export async function countTotal() {
  const ns = state.current;
  let path = nsPath(ns.id) + "/count?cap=10000";
  if (state.prefix) path += "&prefix=" + encodeURIComponent(state.prefix);
  const prefix = state.prefix;
  const total = await json(path);
  if (state.current === ns && state.prefix === prefix) { state.total = total; drawPager(); }
}

export function drawPager() {
  const search = state.search !== "";
  $("previous").disabled = search || state.loading || state.page === 0;
  $("next").disabled = search || state.loading || !state.next;
  if (search) { $("page-number").textContent = ""; return; }
  const first = state.page * PAGE_SIZE + 1;
  const last = state.page * PAGE_SIZE + state.rows.length;
  const total = state.total ? ` of ${count(state.total.count)}${state.total.more ? "+" : ""}` : "";
  $("page-number").textContent = state.rows.length === 0
    ? `Page ${state.page + 1}`
    : `Page ${state.page + 1} · keys ${count(first)}–${count(last)}${total} · ${PAGE_SIZE} per page`;
}

// Loads the page `state.page`: the cursors of earlier pages are walked first when they are
// not known yet (a link or a reload to page 3).
export async function loadKeys() {
  const ns = state.current;
  const ticket = ++state.keysTicket;
  state.loading = true;
  drawPager();
  let page;
  try {
    while (state.cursors.length <= state.page) {
      const before = await keyPage(ns.id, { prefix: state.prefix, cursor: state.cursors[state.cursors.length - 1], limit: PAGE_SIZE });
      if (ticket !== state.keysTicket) return;
      // Past the last page (an old link): the last page, and the address says so.
      if (!before.cursor) { state.page = state.cursors.length - 1; hooks.correctAddress(); break; }
      state.cursors.push(before.cursor);
    }
    page = await keyPage(ns.id, { prefix: state.prefix, cursor: state.cursors[state.page], limit: PAGE_SIZE });
  } finally {
    if (ticket === state.keysTicket) state.loading = false;
  }
  if (ticket !== state.keysTicket || state.current !== ns) return;
  state.next = page.cursor;
  state.rows = page.keys;
  state.expiry = page.expiry;
  state.focusRow = -1;
  applySort();
  drawHead();
  drawRows();
  $("empty").hidden = page.keys.length > 0;
  $("empty").textContent = state.prefix ? `No keys start with ${state.prefix}.` : "No keys.";
  $("search-info").textContent = "";
  drawPager();
  hooks.listed();
}

export const describeSelection = () => plural(state.selected.size, "key") + " selected";
