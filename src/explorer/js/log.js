// The emulator's live request log: each request a function (or anything else) made, with its
// method, path, status and time, newest first; a filter, a pause, and the explorer's own
// requests hidden unless asked for. Read once a second while shown, from the emulator's ring.

import { json, session } from "./api.js";
import { $, element, state, count, fail } from "./dom.js";

const KEPT = 500;
let after = 0;
let entries = [];
let paused = false;
let waiting = 0; // arrived while paused
let timer = null;

function matches(entry) {
  if (entry.explorer && !$("log-mine").checked) return false;
  const filter = $("log-filter").value.trim().toLowerCase();
  if (!filter) return true;
  // Every word must appear: `PUT 404`, `user/ 200`.
  const text = `${entry.method} ${entry.path} ${entry.status}`.toLowerCase();
  return filter.split(/\s+/).every((word) => text.includes(word));
}

function draw() {
  const body = $("log-table").tBodies[0];
  body.replaceChildren();
  const shown = entries.filter(matches).reverse();
  for (const e of shown) {
    const time = new Date(e.at_ms).toISOString().slice(11, 23);
    const row = element("tr", { class: e.status >= 400 ? "bad" : "" },
      element("td", { text: time }),
      element("td", { text: e.method }),
      element("td", { class: "path", text: e.path }),
      element("td", { class: "num", text: String(e.status) }),
      element("td", { class: "num", text: `${e.duration_ms.toFixed(1)} ms` }));
    if (e.explorer) row.classList.add("mine");
    body.append(row);
  }
  $("log-count").textContent = `${count(shown.length)} of ${count(entries.length)} requests shown` +
    (paused ? ` · paused${waiting ? `, ${count(waiting)} new` : ""}` : "");
}

// A failed read: said once; polling stops for good when the session has ended.
function failed(err) {
  if (session.ended) { clearInterval(timer); timer = null; }
  fail(session.ended ? err.message : `The request log: ${err.message}`);
}

async function poll() {
  if (paused || $("log").hidden || session.ended) return;
  try {
    const got = await json("/requests?after=" + after);
    if (got.requests.length) {
      after = got.requests[got.requests.length - 1].seq;
      entries = entries.concat(got.requests).slice(-KEPT);
      draw();
    }
  } catch (err) {
    failed(err);
  }
}

// While paused: how many of the requests since then the list would show.
async function catchUp() {
  if (session.ended) return;
  try {
    const got = await json("/requests?after=" + after);
    waiting = got.requests.filter(matches).length;
    draw();
  } catch (err) {
    failed(err);
  }
}

export function setPaused(on) {
  paused = on;
  $("log-pause").textContent = on ? "Resume" : "Pause";
  $("log-pause").setAttribute("aria-pressed", String(on));
  if (!on) { waiting = 0; poll(); } else catchUp();
  draw();
}

export function showLog(on) {
  $("log").hidden = !on;
  $("log-toggle").setAttribute("aria-pressed", String(on));
  clearInterval(timer);
  timer = null;
  if (on && !session.ended) {
    poll();
    timer = setInterval(() => (paused ? catchUp() : poll()), 1000);
  }
}

export function wireLog() {
  $("log-filter").addEventListener("input", draw);
  $("log-mine").addEventListener("change", draw);
  $("log-pause").addEventListener("click", () => setPaused(!paused));
  $("log-clear").addEventListener("click", () => { entries = []; draw(); });
  if (!state.info.log) $("log-toggle").hidden = true;
}
