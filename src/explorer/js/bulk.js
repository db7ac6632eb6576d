// Actions on the selected keys: delete them (a count to confirm, and the namespace's name to
// type over 100 keys), export them as NDJSON (the format `bulk put` and `import` read), and
// select every key matching the prefix and search, not only those drawn.

import { nsPath, send, call, WRITE_HEADER } from "./api.js";
import { $, state, hooks, say, plural, confirmed, count } from "./dom.js";
import { drawRows } from "./keys.js";
import { streamKeys, matcher } from "./search.js";

const CHUNK = 1000;
export const TYPED_OVER = 100;

export function selectionChanged() {
  const n = state.selected.size;
  $("bulk-bar").hidden = n === 0;
  $("bulk-count").textContent = plural(n, "key") + " selected";
}

export function clearSelection() {
  state.selected.clear();
  state.anchor = null;
  drawRows();
  selectionChanged();
}

export async function selectAllMatching() {
  const test = state.search ? matcher(state.search) : null;
  say("Selecting every matching key…");
  const result = await streamKeys(test, (seen, kept) => {
    $("bulk-count").textContent = `Selecting… ${count(kept)} of ${count(seen)} keys`;
  }, { selecting: true });
  if (!result) { selectionChanged(); return; }
  for (const k of result.kept) state.selected.add(k.key);
  drawRows();
  selectionChanged();
  say(`Selected ${plural(result.kept.length, "matching key")}.`);
}

export async function deleteSelected() {
  const ns = state.current;
  const keys = Array.from(state.selected);
  const n = keys.length;
  const typed = n > TYPED_OVER ? ns.name : null;
  const ok = await confirmed(`Delete ${plural(n, "key")} from ${ns.name}? This cannot be undone.`,
    { action: `Delete ${plural(n, "key")}`, typed });
  if (!ok) return;
  let deleted = 0;
  const failed = [];
  for (let i = 0; i < keys.length; i += CHUNK) {
    const result = await send(nsPath(ns.id) + "/delete-keys", "POST", { keys: keys.slice(i, i + CHUNK) });
    deleted += result.deleted;
    failed.push(...result.failed);
    say(`Deleting… ${count(deleted)} of ${count(n)}`);
  }
  state.selected = new Set(failed.map((f) => f.key));
  if (state.key && keys.includes(state.key) && !state.selected.has(state.key)) hooks.closeValue();
  selectionChanged();
  hooks.countKeys();
  await hooks.reloadKeys();
  if (failed.length) throw new Error(`Deleted ${plural(deleted, "key")}; ${plural(failed.length, "key")} failed (still selected): ${failed[0].key}: ${failed[0].error}`);
  say(`Deleted ${plural(deleted, "key")}.`);
}

export async function exportSelected() {
  const ns = state.current;
  const keys = Array.from(state.selected).sort();
  const parts = [];
  for (let i = 0; i < keys.length; i += CHUNK) {
    const response = await call(nsPath(ns.id) + "/export", {
      method: "POST",
      headers: { "content-type": "application/json", ...WRITE_HEADER },
      body: JSON.stringify({ keys: keys.slice(i, i + CHUNK) }),
    });
    parts.push(await response.blob());
    say(`Exporting… ${count(Math.min(i + CHUNK, keys.length))} of ${count(keys.length)}`);
  }
  const blob = new Blob(parts, { type: "application/x-ndjson" });
  const url = URL.createObjectURL(blob);
  const link = $("export-link");
  link.href = url;
  link.download = `${ns.name}-selection.ndjson`;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  say(`Exported ${plural(keys.length, "key")} to ${link.download}.`);
}
