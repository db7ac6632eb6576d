// The calls to the process that served the page (`/explorer/api/…`), which holds the
// credentials. Calls that change data carry the explorer's header.

export const WRITE_HEADER = { "x-telnyx-edge-explorer": "1" };

// A 401: the token the page holds is not the running process's (it was restarted, or a
// newer command printed another URL). Nothing the page does can work again.
export const SESSION_ENDED = "This explorer session has ended: open the URL its command printed.";
export const session = { ended: false };

export async function call(path, options = {}) {
  const response = await fetch("/explorer/api" + path, { credentials: "same-origin", ...options });
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    // Errors are JSON ({"error"}), but the guards in front answer in plain text.
    const text = (await response.text().catch(() => "")).trim();
    try {
      const body = JSON.parse(text);
      if (body.error) message = body.error;
    } catch (_) {
      if (text) message = text;
    }
    if (response.status === 401) {
      session.ended = true;
      message = SESSION_ENDED;
    }
    const err = new Error(message);
    err.status = response.status;
    throw err;
  }
  return response;
}

export const json = async (path, options) => (await call(path, options)).json();

export const send = (path, method, body) => json(path, {
  method,
  headers: { "content-type": "application/json", ...WRITE_HEADER },
  body: JSON.stringify(body),
});

export const nsPath = (id) => "/namespaces/" + encodeURIComponent(id);
export const valuePath = (id, key) => nsPath(id) + "/value?key=" + encodeURIComponent(key);

// One page of keys: {keys, cursor, expiry}.
export function keyPage(id, { prefix = "", cursor = null, limit = 100 } = {}) {
  let path = nsPath(id) + "/keys?limit=" + limit;
  if (prefix) path += "&prefix=" + encodeURIComponent(prefix);
  if (cursor) path += "&cursor=" + encodeURIComponent(cursor);
  return json(path);
}

// A value: {type, data, digest}.
export async function readValue(id, key) {
  const response = await call(valuePath(id, key));
  return {
    type: response.headers.get("x-value-content-type") || "application/octet-stream",
    digest: response.headers.get("x-value-digest"),
    data: new Uint8Array(await response.arrayBuffer()),
  };
}
