// The editor: a new key, or the value shown, pre-filled (text as text, JSON checked before it
// is saved, other bytes as hex), with its content type and TTL. A save writes only if the key
// is still as it was when opened (the explorer's `expect`); if not, both versions are shown and
// the user chooses.

import { valuePath, json, readValue, WRITE_HEADER } from "./api.js";
import { $, state, hooks, say, bytes } from "./dom.js";

let opened = null; // {key, digest: what the key was when opened ("absent": new), hex}
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

export function openEditor(existing) {
  opener = document.activeElement;
  const v = existing ? state.value : null;
  const hex = Boolean(v && v.text === null);
  opened = { key: v ? v.key : null, digest: v ? v.digest : "absent", hex };
  $("editor-title").textContent = v ? `Edit ${v.key}` : "New key";
  $("edit-key").value = v ? v.key : "";
  $("edit-key").readOnly = Boolean(v);
  $("edit-value-label").textContent = hex ? "Value (hex: the value is not UTF-8 text)" : "Value (text)";
  $("edit-value").value = v ? (hex ? toHex(v.data) : v.text) : "";
  $("edit-file").value = "";
  $("edit-file-wrap").hidden = Boolean(v);
  $("edit-type").value = v ? v.type : "";
  let ttl = "";
  if (v && v.expires) ttl = String(Math.max(1, Math.ceil((v.expires - Date.now()) / 1000)));
  $("edit-ttl").value = ttl;
  $("edit-ttl-help").textContent = state.expiry
    ? "Empty: never expires."
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

// Writes the form; `expect` is what the key must still be ("absent", a digest, or null for
// "whatever it is now").
async function write(expect) {
  const ns = state.current;
  const key = $("edit-key").value;
  const { body, type } = await formValue();
  let path = valuePath(ns.id, key);
  const ttl = $("edit-ttl").value.trim();
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
    if (err.status === 409 && /since you opened it|meanwhile|was deleted/.test(err.message)) {
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
    try { await write(null); } catch (err) { editorError(err.message); }
    return;
  }
  closeEditor();
  const key = $("edit-key").value;
  if (now) { await hooks.reloadKeys(); await hooks.openValue(key); say(`Kept the stored version of ${key}.`); }
  else { hooks.closeValue(); await hooks.reloadKeys(); say(`${key} stays deleted.`); }
}
