// The KV explorer's script: the namespaces, and the wiring of the other modules. It talks only
// to the process that served it (`/explorer/api/…`), which holds the credentials; every value
// is shown through textContent or a blob URL, never as markup.

import { json, send, call, nsPath, valuePath, WRITE_HEADER } from "./api.js";
import { $, element, state, hooks, say, fail, guarded, confirmed, count, plural } from "./dom.js";
import { loadKeys, countTotal, drawHead, drawRows, drawPager, tick } from "./keys.js";
import { runSearch, stopSearch } from "./search.js";
import { selectionChanged, clearSelection, selectAllMatching, deleteSelected, exportSelected } from "./bulk.js";
import { openValue, closeValue, tickValue, copy } from "./value.js";
import { openEditor, save, resolve } from "./editor.js";
import { remember, apply, onKey, correctAddress } from "./nav.js";
import { wireLog, showLog } from "./log.js";

async function loadNamespaces() {
  state.namespaces = await json("/namespaces");
  const list = $("namespace-list");
  list.replaceChildren();
  if (state.namespaces.length === 0) list.append(element("li", { text: "No namespaces yet." }));
  for (const ns of state.namespaces) {
    const meta = element("span", { class: "meta", text: ns.status });
    const button = element("button", { type: "button", "data-id": ns.id }, ns.name, meta);
    button.addEventListener("click", () => guarded(async () => { await openNamespace(ns.id); remember(); }));
    if (state.current && state.current.id === ns.id) button.setAttribute("aria-current", "true");
    list.append(element("li", {}, button));
  }
  for (const ns of state.namespaces) countKeys(ns, 1000);
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
      const n = count(c.count) + (c.more ? "+" : "");
      meta.textContent = `${ns.status} · ${n} key${c.count === 1 && !c.more ? "" : "s"}`;
    },
    () => {},
  );
}

function closeNamespace() {
  state.current = null;
  state.prefix = state.search = "";
  state.page = 0;
  state.sort = null;
  state.tree = false;
  $("keys").hidden = true;
  closeValue();
}

// Opens a namespace at its first page, or where `at` says.
async function openNamespace(id, at = {}) {
  const ns = state.namespaces.find((n) => n.id === id);
  if (!ns) { closeNamespace(); return; }
  const same = state.current && state.current.id === id;
  state.current = ns;
  for (const button of $("namespace-list").querySelectorAll("button")) {
    button.setAttribute("aria-current", String(button.dataset.id === id));
  }
  $("keys-title").textContent = `Keys of ${ns.name}`;
  $("delete-namespace").textContent = `Delete ${ns.name}`;
  countKeys(ns);
  state.keysTicket += 1;
  $("keys").hidden = false;
  if (!same || !at.key) closeValue();
  if (!same) { state.selected.clear(); selectionChanged(); }
  state.prefix = at.prefix ?? "";
  state.search = at.search ?? "";
  state.sort = at.sort ?? null;
  state.tree = Boolean(at.tree);
  $("prefix").value = state.prefix;
  $("search").value = state.search;
  $("tree-view").setAttribute("aria-pressed", String(state.tree));
  state.cursors = [null];
  state.page = at.page ?? 0;
  state.total = null;
  if (ns.status !== "provision_ok") {
    $("key-table").tBodies[0].replaceChildren();
    $("empty").hidden = false;
    $("empty").textContent = `The namespace is ${ns.status}; its keys can be read once it is provision_ok.`;
    $("previous").disabled = $("next").disabled = true;
    return;
  }
  await reloadKeys();
  if (at.key) await openValue(at.key);
}

// Lists again what is shown: the page, or the search.
async function reloadKeys() {
  if (!state.current) return;
  if (state.search) await runSearch();
  else { countTotal().catch(() => {}); await loadKeys(); }
}

// After a listing: a value no longer listed is closed, so it never shows stale beside it.
function listed() {
  if (state.key && !state.rows.some((k) => k.key === state.key)) closeValue();
}

async function goTo(at) {
  if (at.ns && state.namespaces.some((ns) => ns.id === at.ns)) {
    await openNamespace(at.ns, at);
  } else {
    closeNamespace();
    if (at.ns) {
      fail(`No namespace has the id ${at.ns} (the address names one that was deleted, or is from elsewhere).`);
      correctAddress();
    }
  }
  showLog(at.log && state.info.log);
}

// The namespace shown was deleted elsewhere: its keys and value go, the list is read again.
async function namespaceGone() {
  const ns = state.current;
  closeNamespace();
  remember();
  fail(`The namespace ${ns ? ns.name : ""} no longer exists: it was deleted elsewhere.`);
  const message = $("alert").textContent;
  await loadNamespaces();
  $("alert").textContent = message;
}

// Reads the list of namespaces again (created or deleted elsewhere).
async function refreshNamespaces() {
  await loadNamespaces();
  if (state.current && !state.namespaces.some((ns) => ns.id === state.current.id)) {
    await namespaceGone();
    return;
  }
  if (state.current) state.current = state.namespaces.find((ns) => ns.id === state.current.id);
  say(`${plural(state.namespaces.length, "namespace")} listed.`);
}

async function deleteKey(key) {
  const ns = state.current;
  if (!(await confirmed(`Delete key ${key} from ${ns.name}? This cannot be undone.`))) return;
  await call(valuePath(ns.id, key), { method: "DELETE", headers: WRITE_HEADER });
  if (state.key === key) closeValue();
  state.selected.delete(key);
  selectionChanged();
  say(`Deleted key ${key}.`);
  countKeys(ns);
  await reloadKeys();
  $("search").focus();
}

// Writes on or off: the switch against the service, the page's buttons follow.
function showWritable() {
  const on = state.info.writable;
  document.body.classList.toggle("read-only", !on);
  for (const node of document.querySelectorAll(".write")) node.disabled = !on;
  $("writes").checked = on;
  $("read-only-note").hidden = on;
}

function wireKeys() {
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    // A selection is of the keys listed: another prefix or search starts a new one, so a
    // bulk delete never takes keys that are not shown.
    if ((state.prefix !== $("prefix").value || state.search !== $("search").value) && state.selected.size) {
      clearSelection();
    }
    state.prefix = $("prefix").value;
    state.search = $("search").value;
    state.cursors = [null];
    state.page = 0;
    state.total = null;
    guarded(async () => { await reloadKeys(); remember(); });
  });
  $("stop-search").addEventListener("click", stopSearch);
  $("previous").addEventListener("click", () => {
    if (!state.loading && state.page > 0) { state.page -= 1; guarded(async () => { await loadKeys(); remember(); }); }
  });
  $("next").addEventListener("click", () => {
    if (!state.loading && state.next) {
      state.cursors[state.page + 1] = state.next;
      state.page += 1;
      state.next = null;
      guarded(async () => { await loadKeys(); remember(); });
    }
  });
  $("tree-view").addEventListener("click", () => {
    state.tree = !state.tree;
    $("tree-view").setAttribute("aria-pressed", String(state.tree));
    drawRows();
    remember();
  });
  $("select-matching").addEventListener("click", () => guarded(selectAllMatching));
  $("select-none").addEventListener("click", clearSelection);
  $("delete-selected").addEventListener("click", () => guarded(deleteSelected));
  $("export-selected").addEventListener("click", () => guarded(exportSelected));
}

function wireValue() {
  $("new-key").addEventListener("click", () => openEditor(false));
  $("edit-key-button").addEventListener("click", () => openEditor(true));
  $("editor-form").addEventListener("submit", (event) => { event.preventDefault(); guarded(save); });
  $("editor-cancel").addEventListener("click", () => $("editor").close());
  $("keep-mine").addEventListener("click", () => guarded(() => resolve(true)));
  $("take-theirs").addEventListener("click", () => guarded(() => resolve(false)));
  $("delete-key").addEventListener("click", () => guarded(() => deleteKey(state.key)));
  $("copy-path").addEventListener("click", () => copy("path"));
  $("copy-value").addEventListener("click", () => copy("value"));
}

function wireNamespaces() {
  $("create-form").addEventListener("submit", (event) => {
    event.preventDefault();
    guarded(async () => {
      const name = $("create-name").value.trim();
      say(`Creating ${name}…`);
      const ns = await send("/namespaces", "POST", { name });
      $("create-name").value = "";
      await loadNamespaces();
      await openNamespace(ns.id);
      remember();
      if (ns.status === "pending") {
        say(`Waiting for ${name} to be ready…`);
        await waitUntilReady(ns.id);
        await loadNamespaces();
        await openNamespace(ns.id);
      }
      say(`Created namespace ${name}.`);
    });
  });
  $("delete-namespace").addEventListener("click", () => guarded(async () => {
    const ns = state.current;
    const ok = await confirmed(`Delete namespace ${ns.name} and every key in it? This cannot be undone.`,
      { action: "Delete namespace", typed: ns.name });
    if (!ok) return;
    await call(nsPath(ns.id), { method: "DELETE", headers: WRITE_HEADER });
    say(`Deleting namespace ${ns.name}.`);
    closeNamespace();
    remember();
    await loadNamespaces();
    $("create-name").focus();
  }));
  $("refresh-namespaces").addEventListener("click", () => guarded(refreshNamespaces));
  $("writes").addEventListener("change", () => guarded(async () => {
    const got = await send("/writes", "PUT", { writable: $("writes").checked });
    state.info.writable = got.writable;
    showWritable();
    say(got.writable ? "Changes are allowed: writes go to the service." : "Read-only: changes are off.");
  }));
  $("log-toggle").addEventListener("click", () => {
    const on = $("log").hidden;
    showLog(on);
    if (on) { $("log").scrollIntoView({ block: "start" }); $("log-filter").focus({ preventScroll: true }); }
    remember();
  });
}

async function waitUntilReady(id) {
  for (let attempt = 0; attempt < 120; attempt++) {
    const ns = (await json("/namespaces")).find((n) => n.id === id);
    if (!ns || ns.status !== "pending") return;
    await new Promise((r) => setTimeout(r, Math.min(500 * (attempt + 1), 5000)));
  }
}

Object.assign(hooks, {
  openValue: (key, options) => guarded(() => openValue(key, options)),
  closeValue,
  reloadKeys,
  listed,
  remember,
  selectionChanged,
  tickValue,
  goTo,
  edit: () => openEditor(true),
  countKeys: () => { if (state.current) countKeys(state.current); },
  deleteKey: (key) => guarded(() => deleteKey(key)),
  namespaceGone,
  correctAddress,
});

async function start() {
  wireNamespaces();
  wireKeys();
  wireValue();
  document.addEventListener("keydown", onKey);
  window.addEventListener("popstate", () => guarded(apply));
  setInterval(tick, 1000);
  drawHead();
  drawPager();
  await guarded(async () => {
    state.info = await json("/info");
    $("target").textContent = `Showing ${state.info.target}`;
    $("writes-switch").hidden = !state.info.switch;
    showWritable();
    wireLog();
    await loadNamespaces();
    await apply();
    say("");
  });
  document.body.dataset.ready = "true";
}

start();
