// Searching key names in the browser: every page of the namespace (under the prefix, which the
// service filters) is streamed in, a thousand keys at a time, and matched by substring, or as
// a glob when the pattern has `*` or `?`. The count shows as it goes; Stop ends it.

import { keyPage } from "./api.js";
import { $, state, hooks, count, plural } from "./dom.js";
import { drawHead, drawRows, drawPager, applySort, DRAWN } from "./keys.js";

const SEARCH_PAGE = 1000;

// A test for key names: `*` any run of characters (`/` included), `?` one character; else a
// substring.
export function matcher(pattern) {
  if (!/[*?]/.test(pattern)) return (key) => key.includes(pattern);
  const source = Array.from(pattern, (c) => c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")).join("");
  const regex = new RegExp("^" + source + "$", "s");
  return (key) => regex.test(key);
}

let search = { stopped: false }; // the search running, for Stop

export function stopSearch() { search.stopped = true; }

// Streams every key under the prefix through `keep` (all of them without one), page by page;
// `progress(seen, kept)` is told as it goes. Returns the keys kept, or null when overtaken.
// A search takes the list's ticket (it replaces the rows); selecting takes one of its own, so
// it never cancels the page or search loading beside it.
export async function streamKeys(keep, progress, { selecting = false } = {}) {
  const ns = state.current;
  const which = selecting ? "selectTicket" : "keysTicket";
  const ticket = ++state[which];
  const run = { stopped: false };
  if (!selecting) search = run;
  const kept = [];
  let seen = 0;
  let cursor = null;
  let expiry = false;
  do {
    const page = await keyPage(ns.id, { prefix: state.prefix, cursor, limit: SEARCH_PAGE });
    if (ticket !== state[which] || state.current !== ns) return null;
    expiry = page.expiry;
    seen += page.keys.length;
    for (const k of page.keys) if (!keep || keep(k.key)) kept.push(k);
    cursor = page.cursor;
    progress(seen, kept.length, !cursor || run.stopped);
  } while (cursor && !run.stopped);
  if (!selecting) state.expiry = expiry;
  return { kept, seen, complete: !cursor };
}

export async function runSearch() {
  const pattern = state.search;
  const test = matcher(pattern);
  const started = performance.now();
  const info = $("search-info");
  $("stop-search").hidden = false;
  state.loading = true;
  drawPager();
  let result;
  try {
    result = await streamKeys(test, (seen, found) => {
      info.textContent = `Searching… ${plural(found, "match", "matches")} in ${count(seen)} keys`;
    });
  } finally {
    $("stop-search").hidden = true;
    state.loading = false;
  }
  if (!result) return;
  const ms = Math.round(performance.now() - started);
  state.rows = result.kept;
  state.next = null;
  state.focusRow = -1;
  applySort();
  drawHead();
  drawRows();
  const drawn = result.kept.length > DRAWN ? ` (the first ${count(DRAWN)} shown)` : "";
  info.textContent = `${plural(result.kept.length, "match", "matches")} for ${pattern} in ${count(result.seen)} keys${result.complete ? "" : " (stopped)"}${drawn} · ${(ms / 1000).toFixed(2)} s`;
  info.dataset.ms = String(ms);
  info.dataset.matches = String(result.kept.length);
  info.dataset.seen = String(result.seen);
  $("empty").hidden = result.kept.length > 0;
  $("empty").textContent = `No key matches ${pattern}.`;
  drawPager();
  hooks.listed();
}
