// The views of a value: text, JSON (highlighted, each object and array foldable, a member's
// path and value to copy), hex (16 bytes a line, never wrapped), and raster images. The JSON
// view reads the text itself, never through JSON.parse, so numbers keep every digit and
// repeated names stay as stored.

import { element, bytes } from "./dom.js";

const HEX_LIMIT = 64 * 1024;
// Shown as images: raster formats only. An SVG (or any other markup) in a blob URL would be a
// document of this origin, able to run script if opened in a tab of its own.
export const IMAGE_TYPES = ["image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp"];

// The raster type the bytes start like, if any.
export function sniffImage(data) {
  const starts = (...b) => b.every((x, i) => data[i] === x);
  if (starts(0x89, 0x50, 0x4e, 0x47)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  if (starts(0x47, 0x49, 0x46, 0x38)) return "image/gif";
  if (starts(0x52, 0x49, 0x46, 0x46) && data[8] === 0x57 && data[9] === 0x45) return "image/webp";
  return null;
}

export function hexDump(data) {
  const lines = [];
  const shown = Math.min(data.length, HEX_LIMIT);
  for (let offset = 0; offset < shown; offset += 16) {
    const row = data.subarray(offset, Math.min(offset + 16, shown));
    const cells = Array.from(row, (b) => b.toString(16).padStart(2, "0"));
    const hex = (cells.slice(0, 8).join(" ") + "  " + cells.slice(8).join(" ")).trimEnd();
    const text = Array.from(row, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join("");
    lines.push(`${offset.toString(16).padStart(8, "0")}  ${hex.padEnd(48)}  |${text}|`);
  }
  if (data.length > shown) lines.push(`… ${bytes(data.length - shown)} more (download to see them)`);
  return lines.join("\n");
}

// Deeper containers are shown as their text: deep nesting would exhaust the script's stack or
// the browser's layout (a few hundred nested boxes crash a tab).
export const DEPTH_LIMIT = 64;
// Members built when the view opens; past that, containers start folded and are built when
// opened, so a large value opens at once.
const EAGER_MEMBERS = 2000;
// Members of one container drawn at a time; a button draws the next ones.
const CHUNK = 500;

// Where the JSON value starting at `from` ends, and for a container its number of members,
// found without building anything (a loop, not recursion: any depth).
function scan(text, from) {
  let depth = 0;
  let members = 0;
  let empty = true;
  for (let j = from; j < text.length; j++) {
    const c = text[j];
    if (c === '"') {
      j++;
      while (j < text.length && text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1) empty = false;
    } else if (c === "{" || c === "[") {
      if (depth === 1) empty = false;
      depth++;
    } else if (c === "}" || c === "]") {
      depth--;
      if (depth === 0) return { end: j + 1, members: empty ? 0 : members + 1 };
    } else if (depth === 1 && c === ",") {
      members++;
    } else if (depth === 1 && !" \t\n\r".includes(c)) {
      empty = false;
    }
  }
  throw new Error("not JSON: a container is not closed");
}

// A JSON text as nodes: `select(path, raw)` is called when a member is clicked. Throws on
// text that is not JSON.
export function jsonView(text, select) {
  let i = 0;
  let built = 0;
  const ws = () => { while (i < text.length && " \t\n\r".includes(text[i])) i++; };
  const fail = () => { throw new Error(`not JSON at character ${i}`); };
  const span = (cls, t) => element("span", { class: cls, text: t });
  const child = (path, name) => typeof name === "number" ? `${path}[${name}]`
    : /^[A-Za-z_$][\w$]*$/.test(name) ? `${path}.${name}` : `${path}[${JSON.stringify(name)}]`;

  function string() {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === "\\" ? 2 : 1;
    if (i >= text.length) fail();
    i++;
    return text.slice(start, i);
  }

  // A value at `path`, as a node; its source text is text.slice(start, i) afterwards.
  function value(path, depth) {
    ws();
    const c = text[i];
    if (c === "{" || c === "[") return container(path, depth, c);
    if (c === '"') { const raw = string(); JSON.parse(raw); return span("j-str", raw); }
    const m = /^(-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (!m) fail();
    i += m[0].length;
    const cls = m[0] === "null" ? "j-null" : (m[0] === "true" || m[0] === "false") ? "j-bool" : "j-num";
    return span(cls, m[0]);
  }

  // The members of the container at `path` from `from` (after its opening bracket or a
  // comma), up to CHUNK of them, into `box`; then a button for the next ones, if any.
  function members(from, n, total, path, depth, open, box) {
    const close = open === "{" ? "}" : "]";
    i = from;
    for (let shown = 0; ; n++, shown++) {
      ws();
      if (shown === CHUNK) { box.append(moreButton(i, n, total, path, depth, open, box)); return; }
      let name = n;
      let label = null;
      if (open === "{") {
        if (text[i] !== '"') fail();
        const raw = string();
        name = JSON.parse(raw);
        label = raw;
        ws();
        if (text[i] !== ":") fail();
        i++;
      }
      const memberPath = child(path, name);
      ws();
      const start = i;
      built++;
      const node = value(memberPath, depth + 1);
      const raw = text.slice(start, i);
      const line = element("div", { class: "j-member", "data-path": memberPath, tabindex: "-1" });
      if (label !== null) line.append(span("j-key", label), span("j-punct", ": "));
      line.append(node);
      line.addEventListener("click", (event) => { event.stopPropagation(); select(line, memberPath, raw); });
      box.append(line);
      ws();
      // After a folded or open container, the comma follows its closing bracket.
      if (text[i] === ",") { (node.tagName === "DETAILS" ? node : line).append(span("j-punct", ",")); i++; continue; }
      if (text[i] === close) return;
      fail();
    }
  }

  function moreButton(from, n, total, path, depth, open, box) {
    const left = total - n;
    const button = element("button", { type: "button", class: "j-more", text: `Show ${Math.min(left, CHUNK)} more of ${left} left` });
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      button.remove();
      members(from, n, total, path, depth, open, box);
    });
    return button;
  }

  function container(path, depth, open) {
    const close = open === "{" ? "}" : "]";
    const start = i;
    const { end, members: total } = scan(text, start);
    i = end;
    if (total === 0) return span("j-punct", open + close);
    if (depth >= DEPTH_LIMIT) {
      return element("span", { class: "j-deep" },
        span("j-note", `(nested deeper than ${DEPTH_LIMIT} levels: shown as text) `), text.slice(start, end));
    }
    const noun = open === "{" ? (total === 1 ? "member" : "members") : (total === 1 ? "item" : "items");
    const summary = element("summary", {}, span("j-punct", open), span("j-count", ` ${total} ${noun} `));
    const box = element("div", { class: "j-items" });
    const details = element("details", {}, summary, box, span("j-punct", close));
    const fill = () => { members(start + 1, 0, total, path, depth, open, box); i = end; };
    if (built < EAGER_MEMBERS || depth === 0) {
      fill();
      details.open = true;
    } else {
      details.addEventListener("toggle", () => { if (details.open && !box.hasChildNodes()) fill(); });
    }
    return details;
  }

  const root = value("$", 0);
  ws();
  if (i !== text.length) fail();
  return element("div", { class: "json" }, root);
}
