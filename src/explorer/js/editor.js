// The editor: a new key, or the value shown, pre-filled (text as text, JSON checked before it
// is saved, other bytes as hex), with its content type and TTL. A save writes only if the key
// is still as it was when opened (the explorer's `expect`); if not, both versions are shown and
// the user chooses.

import { valuePath, json, readValue, WRITE_HEADER } from "./api.js";
import { $, state, hooks, say, bytes, isoTime, namespaceGone } from "./dom.js";

// {key, digest: what the key was when opened ("absent": new), hex, value: as opened, ttl: the
// TTL field as pre-filled, expires: the key's expiry then}
let opened = null;
let opener = null;

const toHex = (data) => Array.from(data, (b) => b.toString(16).padStart(2, "0")).join(" ").replace(/((?:\S\S ){15}\S\S) /g, "$1\n");

function fromHex(text) {
  const digits = text.replace(/\s+/g, "");
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error("The hex has a character that is not a hex digit, or an odd number of digits.");
  const out = new Uint8Array(digits.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(digits.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function editorError(message) { $("editor-alert").textContent = message; }

const sameBytes = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

// Why a text field cannot hold the value's bytes unchanged, or null when it can: a field drops
// a byte order mark and turns CR LF and CR into LF, so those values are edited as hex.
function textProblem(v) {
  if (v.text === null) return "the value is not UTF-8 text";
  $("edit-value").value = v.text;
  if (sameBytes(new TextEncoder().encode($("edit-value").value), v.data)) return null;
  if (v.data[0] === 0xef && v.data[1] === 0xbb && v.data[2] === 0xbf) return "the value starts with a byte order mark, which a text field drops";
  return "the value has CR line breaks, which a text field turns into LF";
}

export function openEditor(existing) {
  opener = document.activeElement;
  const v = existing ? state.value : null;
  const problem = v ? textProblem(v) : null;
  const hex = problem !== null;
  $("editor-title").textContent = v ? `Edit ${v.key}` : "New key";
  $("edit-key").value = v ? v.key : "";
  $("edit-key").readOnly = Boolean(v);
  $("edit-value-label").textContent = hex ? `Value (hex: ${problem})` : "Value (text)";
  $("edit-value").value = v ? (hex ? toHex(v.data) : v.text) : "";
  $("edit-file").value = "";
  $("edit-file-wrap").hidden = Boolean(v);
  $("edit-type").value = v ? v.type : "";
  // The TTL shown is the time left now; left as is, the save keeps the expiry time itself.
  let ttl = "";
  if (v && v.expires) ttl = String(Math.max(1, Math.ceil((v.expires - Date.now()) / 1000)));
  $("edit-ttl").value = ttl;
  opened = { key: v ? v.key : null, digest: v ? v.digest : "absent", hex, value: v, ttl, expires: v ? v.expires : null };
  $("edit-ttl-help").textContent = state.expiry
    ? (v && v.expires ? `Left as is, the key keeps its expiry time, ${isoTime(v.expires)}. Empty: never expires.` : "Empty: never expires.")
    : "Empty: never expires. The service does not say a key's TTL, so an edit without one makes the key persistent.";
  $("conflict").hidden = true;
  editorError("");
  $("editor").showModal();
  (v ? $("edit-value") : $("edit-key")).focus();
}

export function closeEditor() {
  $("editor").close();
}

$("editor")?.addEventListener("close", () => { if (opener && opener.focus) opener.focus(); });

// The bytes and content type the form holds; throws with what is wrong.
async function formValue() {
  const file = $("edit-file").files[0];
  let type = $("edit-type").value.trim();
  if (file) return { body: file, type: type || file.type || "application/octet-stream" };
  const text = $("edit-value").value;
  if (opened.hex) return { body: fromHex(text), type: type || "application/octet-stream" };
  if (!type) type = "text/plain";
  if (type.split(";")[0].trim().toLowerCase().endsWith("json")) {
    try { JSON.parse(text); } catch (err) { throw new Error(`The value is not valid JSON (${err.message}); nothing was saved.`); }
  }
  return { body: new TextEncoder().encode(text), type };
}

// The TTL to write: the field's, or when it is left as pre-filled, the time left until the
// expiry the key had when opened (so waiting before saving does not push the expiry out).
function ttlToWrite() {
  const ttl = $("edit-ttl").value.trim();
  if (!ttl || ttl !== opened.ttl || !opened.expires) return ttl;
  const left = Math.ceil((opened.expires - Date.now()) / 1000);
  if (left <= 0) {
    throw new Error(`${opened.key} expired at ${isoTime(opened.expires)}, while the editor was open; nothing was saved. `
      + "Set a new TTL, or clear it to never expire, to save it again.");
  }
  return String(left);
}

// Whether the form holds what the key held when opened: value, content type and TTL.
function unchanged(body, type) {
  const v = opened.value;
  return Boolean(v) && !(body instanceof Blob) && sameBytes(body, v.data) && type === v.type
    && $("edit-ttl").value.trim() === opened.ttl;
}

// Writes the form; `expect` is what the key must still be ("absent", a digest, or null for
// "whatever it is now").
async function write(expect) {
  const ns = state.current;
  const key = $("edit-key").value;
  const { body, type } = await formValue();
  const ttl = ttlToWrite();
  if (expect && unchanged(body, type)) {
    closeEditor();
    say(`No change: nothing was written to ${key}.`);
    return;
  }
  let path = valuePath(ns.id, key);
  if (ttl) path += "&ttl_secs=" + encodeURIComponent(ttl);
  if (expect) path += "&expect=" + encodeURIComponent(expect);
  const written = await json(path, { method: "PUT", headers: { ...WRITE_HEADER, "content-type": type }, body });
  closeEditor();
  if (written.created) hooks.countKeys();
  await hooks.reloadKeys();
  await hooks.openValue(key);
  say(`${written.created ? "Created" : "Saved"} key ${key} (${bytes(written.size_bytes)}).`);
}

export async function save() {
  editorError("");
  try {
    await write(opened.digest);
  } catch (err) {
    if (namespaceGone(err)) {
      closeEditor();
      throw err;
    } else if (err.status === 409 && /since you opened it|already exists|was deleted/.test(err.message)) {
      await showConflict(err.message);
    } else {
      editorError(err.message);
    }
  }
}

// Both versions side by side: what the form holds and what is stored now.
async function showConflict(message) {
  const ns = state.current;
  const key = $("edit-key").value;
  let now = null;
  try { now = await readValue(ns.id, key); } catch (err) { if (err.status !== 404) throw err; }
  const decode = (data) => { try { return new TextDecoder("utf-8", { fatal: true }).decode(data); } catch (_) { return toHex(data); } };
  $("conflict-message").textContent = message;
  $("conflict-mine").textContent = $("edit-value").value;
  $("conflict-theirs").textContent = now ? decode(now.data) : "(deleted)";
  $("conflict-theirs-type").textContent = now ? now.type : "";
  opened.current = now;
  $("conflict").hidden = false;
  editorError(message);
  $("keep-mine").focus();
}

// The user chose: overwrite with the form, or take what is stored.
export async function resolve(mine) {
  const now = opened.current;
  if (mine) {
    editorError("");
    try { await write(null); } catch (err) { if (namespaceGone(err)) { closeEditor(); throw err; } editorError(err.message); }
    return;
  }
  closeEditor();
  const key = $("edit-key").value;
  if (now) { await hooks.reloadKeys(); await hooks.openValue(key); say(`Kept the stored version of ${key}.`); }
  else { hooks.closeValue(); await hooks.reloadKeys(); say(`${key} stays deleted.`); }
}
