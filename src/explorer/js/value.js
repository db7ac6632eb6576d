// The value panel: the value's content type, size, time left and digest, and its views (text,
// JSON, hex, image), chosen from the content type, then from the bytes; the user can switch.

import { readValue, valuePath } from "./api.js";
import { $, element, state, hooks, say, bytes, isoTime, timeLeft } from "./dom.js";
import { IMAGE_TYPES, sniffImage, hexDump, jsonView } from "./views.js";

let blobUrl = null;
let chosen = null; // {path, raw}: the JSON member picked, for the copy buttons

export function closeValue() {
  document.querySelector("main").classList.remove("wide");
  state.key = null;
  state.value = null;
  $("value").hidden = true;
  if (blobUrl) URL.revokeObjectURL(blobUrl);
  blobUrl = null;
  for (const row of $("key-table").tBodies[0].rows) row.classList.remove("selected");
}

// The views a value can be shown in, the one to start with first.
function viewsOf(type, data, text) {
  const essence = type.split(";")[0].trim().toLowerCase();
  const image = IMAGE_TYPES.includes(essence) ? essence : sniffImage(data);
  let json = false;
  if (text !== null && /^\s*[[{"\d tfn-]/.test(text)) {
    try { JSON.parse(text); json = true; } catch (_) { json = false; }
  }
  const views = [];
  if (image && (IMAGE_TYPES.includes(essence) || text === null)) views.push("image");
  if (json && (essence.includes("json") || /^\s*[[{]/.test(text))) views.push("json");
  if (text !== null) views.push("text");
  views.push("hex");
  if (image && !views.includes("image")) views.push("image");
  if (json && !views.includes("json")) views.push("json");
  return views;
}

export async function openValue(key, { focus = false } = {}) {
  const ns = state.current;
  const ticket = ++state.valueTicket;
  const value = await readValue(ns.id, key);
  if (ticket !== state.valueTicket || state.current !== ns) return;
  closeValue();
  const row = state.rows.find((k) => k.key === key);
  state.key = key;
  let text = null;
  try { text = new TextDecoder("utf-8", { fatal: true }).decode(value.data); } catch (_) { text = null; }
  state.value = { key, ...value, text, expires: row ? row.expires_ms : undefined };
  for (const tr of $("key-table").tBodies[0].rows) {
    const on = tr.dataset.key === key;
    tr.classList.toggle("selected", on);
    const button = tr.querySelector("button.key");
    if (on) button.setAttribute("aria-current", "true"); else button.removeAttribute("aria-current");
  }
  $("value-title").textContent = key;
  drawMeta();
  $("download").href = "/explorer/api" + valuePath(ns.id, key);
  const views = viewsOf(value.type, value.data, text);
  const tabs = $("value-views");
  tabs.replaceChildren();
  for (const view of views) {
    const button = element("button", { type: "button", "data-view": view, "aria-pressed": "false", text: { json: "JSON", text: "Text", hex: "Hex", image: "Image" }[view] });
    button.addEventListener("click", () => show(view));
    tabs.append(button);
  }
  $("value").hidden = false;
  show(views[0]);
  hooks.remember();
  say(`Showing ${key} (${bytes(value.data.length)}).`);
  if (focus) $("value-body").focus();
}

function drawMeta() {
  const v = state.value;
  const items = [["Content type", v.type], ["Size", bytes(v.data.length)]];
  if (state.expiry && v.expires !== undefined) {
    items.push(["TTL left", v.expires == null ? "never expires" : timeLeft(v.expires - Date.now())]);
    if (v.expires != null) items.push(["Expires", isoTime(v.expires)]);
  }
  const meta = $("value-meta");
  meta.replaceChildren();
  for (const [name, text] of items) {
    meta.append(element("dt", { text: name }), element("dd", { text, "data-meta": name }));
  }
}

export function tickValue(now) {
  const cell = document.querySelector('#value-meta dd[data-meta="TTL left"]');
  const v = state.value;
  if (cell && v && v.expires != null) cell.textContent = timeLeft(v.expires - now);
}

function show(view) {
  const v = state.value;
  const body = $("value-body");
  body.replaceChildren();
  chosen = null;
  $("json-tools").hidden = view !== "json";
  $("copy-path").disabled = $("copy-value").disabled = true;
  for (const button of $("value-views").querySelectorAll("button")) {
    button.setAttribute("aria-pressed", String(button.dataset.view === view));
  }
  if (view === "image") {
    const type = IMAGE_TYPES.includes(v.type.split(";")[0].trim().toLowerCase()) ? v.type : sniffImage(v.data);
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = URL.createObjectURL(new Blob([v.data], { type }));
    body.append(element("img", { src: blobUrl, alt: `The image stored at ${v.key}` }));
  } else if (view === "json") {
    let tree;
    try {
      tree = jsonView(v.text, (line, path, raw) => {
        for (const other of body.querySelectorAll(".j-member.chosen")) other.classList.remove("chosen");
        line.classList.add("chosen");
        chosen = { path, raw };
        $("json-path").textContent = path;
        $("copy-path").disabled = $("copy-value").disabled = false;
      });
    } catch (err) {
      // The text, hex and Download stay offered whatever the JSON view cannot show.
      show("text");
      body.prepend(element("p", { class: "j-note", text: `The JSON view cannot show this value (${err.message}); shown as text.` }));
      return;
    }
    body.append(tree);
    $("json-path").textContent = "Click a member to copy its path or value";
  } else if (view === "text") {
    body.append(element("pre", { text: v.text }));
  } else {
    body.append(element("pre", { class: "hex", text: hexDump(v.data) }));
  }
  body.dataset.view = view;
  state.view = view;
  document.querySelector("main").classList.toggle("wide", view === "hex");
}

export async function copy(what) {
  if (!chosen) return;
  const text = what === "path" ? chosen.path : chosen.raw;
  $("value-body").dataset.copied = text;
  try {
    await navigator.clipboard.writeText(text);
    say(`Copied the ${what} ${what === "path" ? text : "of " + chosen.path}.`);
  } catch (_) {
    say(`The browser refused the clipboard; the ${what} is: ${text}`);
  }
}

export const showView = show;
