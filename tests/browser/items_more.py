"""The explorer's browser tests for items 5 to 9 of issue #27: bulk actions, views of a value,
the request log, the explorer against the service (`storage kv ui`), accessibility."""

import json
import os
import struct
import subprocess
import tempfile
import time
import zlib

from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys

from harness import Page, check, fill, press


def test_5_bulk_actions(p, shots):
    ns = p.server.namespace("bulk")
    p.server.bulk_put(ns, [{"key": f"k/{i:03d}", "value": str(i)} for i in range(150)]
                      + [{"key": "keep", "value": "kept"}])
    p.open()
    p.open_namespace("bulk")
    p.until(lambda: len(p.keys()) == 100, "listed")
    boxes = p.els("#key-table tbody input[type='checkbox']")
    boxes[0].click()
    ActionChains(p.b).key_down(Keys.SHIFT).click(boxes[4]).key_up(Keys.SHIFT).perform()
    check(p.text("#bulk-count") == "5 keys selected", f"shift-click selects a range: {p.text('#bulk-count')}")
    check(p.js("return document.activeElement.closest('tr').dataset.key") == "k/004", "focus stays on the box clicked")
    check(p.js("const b = document.getElementById('select-page'); return [b.checked, b.indeterminate]") == [False, True],
          "the heading's box shows some rows are ticked")
    check(p.js("return Array.from(document.querySelectorAll('#key-table tbody input:checked'), b => b.closest('tr').dataset.key)")
          == [f"k/{i:03d}" for i in range(5)], "the five rows are checked")

    downloads = tempfile.mkdtemp(prefix="explorer-downloads-")
    p.b.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    p.el("#export-selected").click()
    path = os.path.join(downloads, "bulk-selection.ndjson")
    p.until(lambda: os.path.exists(path) and os.path.getsize(path) > 0, "the export is downloaded")
    with open(path) as exported:
        lines = [json.loads(line) for line in exported]
    check(lines == [{"key": f"k/{i:03d}", "value": str(i), "base64": False, "content_type": "application/octet-stream"}
                    for i in range(5)], "the selection exports as NDJSON lines bulk put reads")
    p.screenshot(shots, "explorer-bulk.png")

    p.el("#delete-selected").click()
    p.until(lambda: p.el("#confirm").get_attribute("open") is not None, "deleting asks first")
    check("Delete 5 keys from bulk?" in p.text("#confirm-text") and not p.el("#confirm-typed").is_displayed(),
          "with the count, and nothing to type for 5 keys")
    p.el("#confirm-ok").click()
    p.until(lambda: p.status() == "Deleted 5 keys.", "the five are deleted")
    check(all(p.server.get(ns, f"k/{i:03d}") is None for i in range(5)), "gone from the emulator")

    fill(p, "#prefix", "k/")
    p.el("#filter-form button[type='submit']").click()
    p.until(lambda: p.keys()[:1] == ["k/005"], "filtered")
    p.el("#select-matching").click()
    p.until(lambda: p.text("#bulk-count") == "145 keys selected", "select all matching takes every page")
    p.el("#delete-selected").click()
    p.until(lambda: p.el("#confirm").get_attribute("open") is not None, "deleting 145 asks first")
    check(p.el("#confirm-typed").is_displayed() and not p.el("#confirm-ok").is_enabled(),
          "over 100 keys, the name must be typed before Delete works")
    check(p.js("return document.activeElement.id") == "confirm-typed", "focus is on the field to type in")
    p.el("#confirm-typed").send_keys("bulk-")
    check(not p.el("#confirm-ok").is_enabled(), "a wrong name keeps Delete off")
    p.el("#confirm-typed").send_keys(Keys.BACKSPACE)
    check(p.el("#confirm-ok").is_enabled(), "the right name turns it on")
    p.el("#confirm-ok").click()
    p.until(lambda: p.status() == "Deleted 145 keys.", "145 keys deleted")
    listed = p.server.api("GET", f"/storage/kvs/{ns}/keys")
    check([k["key"] for k in listed["data"]] == ["keep"], "only the unselected key is left")
    p.until(lambda: p.text("#namespace-list button[aria-current='true'] .meta") == "provision_ok · 1 key",
            "the namespace list counts again")


def png(width, height, rgb):
    """A small PNG of one colour."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_6_views_of_a_value(p, shots):
    ns = p.server.namespace("views")
    doc = '{"a":{"b":[1,2,{"c":"x"}]},"big":12345678901234567890,"ok":true,"none":null}'
    p.server.put(ns, "doc.json", doc, "application/json")
    p.server.put(ns, "blob.bin", bytes(range(255, 215, -1)), "application/octet-stream")
    p.server.put(ns, "logo.png", png(24, 16, (200, 30, 40)), "image/png")
    p.server.put(ns, "untyped-logo", png(4, 4, (0, 90, 200)))
    p.server.put(ns, "readme", "plain text\nover two lines", "text/plain")
    p.open()
    p.open_namespace("views")
    p.until(lambda: len(p.keys()) == 5, "listed")

    p.open_key("doc.json")
    body = p.el("#value-body")
    check(body.get_attribute("data-view") == "json", "a JSON content type starts in the JSON view")
    check([b.text for b in p.els("#value-views button")] == ["JSON", "Text", "Hex"], "with text and hex offered")
    check(p.js("return Array.from(document.querySelectorAll('#value-body .j-key'), e => e.textContent)")
          == ['"a"', '"b"', '"c"', '"big"', '"ok"', '"none"'], "names are highlighted")
    check(p.text("#value-body .j-num:not(:empty)") and "12345678901234567890" in
          p.js("return Array.from(document.querySelectorAll('#value-body .j-num'), e => e.textContent)"),
          "a long number keeps every digit")
    check(p.text("#value-body .j-bool") == "true" and p.text("#value-body .j-null") == "null", "literals too")
    member_c = "#value-body .j-member[data-path='$.a.b[2].c']"
    p.click(member_c)
    check(p.text("#json-path") == "$.a.b[2].c", "clicking a member shows its path")
    p.el("#copy-path").click()
    check(body.get_attribute("data-copied") == "$.a.b[2].c", "Copy path copies it")
    p.click("#value-body .j-member[data-path='$.a'] > .j-key")
    p.el("#copy-value").click()
    check(body.get_attribute("data-copied") == '{"b":[1,2,{"c":"x"}]}', "Copy value copies the member's JSON as stored")
    p.screenshot(shots, "explorer-json.png")
    p.click("#value-body .j-member[data-path='$.a'] > details > summary")
    check(p.js("return document.querySelector(\"#value-body .j-member[data-path='$.a'] > details\").open") is False
          and not p.el(member_c).is_displayed(), "an object folds")
    p.el("#value-views button[data-view='text']").click()
    check(body.get_attribute("data-view") == "text" and body.text == doc, "the text view is the bytes as stored")

    p.open_key("blob.bin")
    check(body.get_attribute("data-view") == "hex", "bytes that are not text start in the hex view")
    lines = p.text("#value-body pre.hex").split("\n")
    check(lines[0] == "00000000  ff fe fd fc fb fa f9 f8  f7 f6 f5 f4 f3 f2 f1 f0  |................|"
          and lines[2] == "00000020  df de dd dc db da d9 d8                           |........|"
          and len(lines) == 3, f"16 bytes a line, in a fixed layout: {lines}")
    check(p.js("return getComputedStyle(document.querySelector('#value-body pre.hex')).whiteSpace") == "pre",
          "hex lines never wrap")
    height = p.js("return document.querySelector('#value-body pre.hex').getBoundingClientRect().height")
    line = p.js("return parseFloat(getComputedStyle(document.querySelector('#value-body pre.hex')).lineHeight)")
    check(abs(height - 3 * line) < 2, f"three lines take three lines' height ({height} px)")
    p.screenshot(shots, "explorer-hex.png")

    p.open_key("logo.png")
    check(body.get_attribute("data-view") == "image", "a PNG starts in the image view")
    p.until(lambda: p.js("const i = document.querySelector('#value-body img'); return i && i.complete && i.naturalWidth") == 24,
            "the image is drawn")
    p.screenshot(shots, "explorer-image.png")
    p.open_key("untyped-logo")
    check(body.get_attribute("data-view") == "image", "PNG bytes without an image type are recognised")
    p.open_key("readme")
    check(body.get_attribute("data-view") == "text" and body.text == "plain text\nover two lines", "text as text")
    href = p.el("#download").get_attribute("href")
    got = p.js("""const r = await fetch(arguments[0]);
        return [r.headers.get('content-disposition'), r.headers.get('content-security-policy'), await r.text()]""", href)
    check(got == ['attachment; filename="readme"', "sandbox", "plain text\nover two lines"],
          "Download is the value as an attachment under a sandbox")


def test_7_request_log(p, shots):
    ns = p.server.namespace("logged")
    p.open(f"#ns={ns}")
    p.el("#log-toggle").click()
    p.until(lambda: p.el("#log").is_displayed(), "the log opens")
    check("log=1" in p.b.current_url, "and the address says so")
    p.server.put(ns, "hello", "world", "text/plain")
    try:
        p.server.api("GET", f"/storage/kvs/{ns}/keys/missing")
    except Exception:
        pass

    def rows():
        return p.js("return Array.from(document.querySelectorAll('#log-table tbody tr'), r => [r.className, ...Array.from(r.cells, c => c.textContent)])")

    put = ["", "PUT", f"/v2/storage/kvs/{ns}/keys/hello", "201"]
    missing = ["bad", "GET", f"/v2/storage/kvs/{ns}/keys/missing", "404"]
    p.until(lambda: any(r[0:1] + r[2:5] == put for r in rows()), "a PUT shows in the log")
    shown = rows()
    check(shown[0][0:1] + shown[0][2:5] == missing and shown[1][0:1] + shown[1][2:5] == put,
          f"newest first, with method, path and status: {shown[:2]}")
    check(shown[0][5].endswith(" ms") and len(shown[0][1]) == 12, "and the time and duration")
    check(not any(r[0] == "mine" for r in rows()), "the explorer's own requests are hidden")
    p.el("#log-mine").click()
    check(any(r[0] == "mine" and r[3] == "/v2/storage/kvs?page[number]=1&page[size]=250" for r in rows()),
          "and shown when asked for")
    p.el("#log-mine").click()
    fill(p, "#log-filter", f"{ns[:8]} 404")
    check([r[2:5] for r in rows()] == [missing[1:]], "the filter keeps matching requests")
    fill(p, "#log-filter", "")
    p.el("#log-pause").click()
    before = rows()
    p.server.put(ns, "later", "x")
    p.until(lambda: p.text("#log-count").endswith("· paused, 1 new"), "paused, it counts what arrives")
    check(rows() == before, "and shows nothing new")
    p.screenshot(shots, "explorer-log.png")
    p.el("#log-pause").click()
    p.until(lambda: any(r[3] == f"/v2/storage/kvs/{ns}/keys/later" for r in rows()), "resumed, it catches up")
    p.el("#log-toggle").click()


def test_8_against_the_service(p, shots):
    ns = p.server.namespace("service")
    p.server.put(ns, "greeting", "hello", "text/plain", ttl=3600)
    env = dict(p.server.env, TELNYX_BASE_URL=p.server.base, TELNYX_API_KEY="service-key")
    env.pop("TELNYX_EDGE_STATE_DIR")
    ui = subprocess.Popen([p.server.binary, "--json", "storage", "kv", "ui", "--no-open", "--port", "0"],
                          cwd=p.server.work, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = json.loads(ui.stdout.readline())["url"]
        service = Page(p.b, p.server)
        service.server = type("At", (), {"url": url})()
        service.open()
        check(p.text("#target") == f"Showing {p.server.base}", "the page says it shows the service")
        check(p.el("#writes-switch").is_displayed() and not p.el("#writes").is_selected(),
              "a visible switch, off: read-only")
        check(p.el("#read-only-note").is_displayed(), "the page says it is read-only")
        service.open_namespace("service")
        p.until(lambda: p.keys() == ["greeting"], "keys are read")
        check(not p.el("#new-key").is_enabled() and not p.el("#delete-namespace").is_enabled(),
              "the buttons that write are off")
        ttl = p.js("return Array.from(document.querySelector(\"#key-table tr[data-key='greeting']\").cells, c => [c.textContent, c.title])")
        check(ttl[4] == ["—", "The service does not say when a key expires"], "the service's keys show no TTL, and say why")
        service.open_key("greeting")
        check(not p.el("#edit-key-button").is_enabled(), "Edit is off")
        p.expect_errors("status of 403 (Forbidden)")
        refused = p.js("""const r = await fetch(arguments[0], {method: 'DELETE', headers: {'x-telnyx-edge-explorer': '1'}});
            return [r.status, (await r.json()).error]""", f"/explorer/api/namespaces/{ns}/value?key=greeting")
        check(refused == [403, 'the explorer is read-only: turn on "Allow changes" to write'], "the server refuses writes too")
        p.screenshot(shots, "explorer-service.png")

        p.el("#writes").click()
        p.until(lambda: p.el("#edit-key-button").is_enabled(), "the switch allows changes")
        check(p.status() == "Changes are allowed: writes go to the service.", "and says so")
        p.el("#edit-key-button").click()
        check("does not say a key's TTL" in p.text("#edit-ttl-help"), "the editor warns that the TTL is unknown")
        fill(p, "#edit-value", "hello, service")
        fill(p, "#edit-ttl", "600")
        p.el("#editor-save").click()
        p.until(lambda: "Saved key greeting" in p.status(), "the edit is saved through the CLI's client")
        check(p.server.get(ns, "greeting") == b"hello, service", "the service has it")
        p.el("#writes").click()
        p.until(lambda: not p.el("#edit-key-button").is_enabled(), "the switch turns writes off again")
    finally:
        ui.terminate()
        ui.wait()


def test_9_accessibility(p, shots):
    ns = p.server.namespace("a11y")
    p.server.put(ns, "user/1/profile.json", '{"name":"Ada","langs":["en","fr"]}', "application/json", ttl=7200)
    p.server.put(ns, "user/2/profile.json", '{"name":"Grace"}', "application/json")
    p.server.put(ns, "session/abc", "s", ttl=1800)
    p.server.put(ns, "session/def", "t", ttl=300)
    p.server.put(ns, "config/flags.json", '{"beta":true}', "application/json")
    p.server.put(ns, "img/logo.png", png(32, 32, (11, 87, 208)), "image/png")
    p.open(f"#ns={ns}&key=user%2F1%2Fprofile.json")
    p.until(lambda: p.text("#value-title") == "user/1/profile.json", "opened by link")

    p.screenshot(shots, "explorer.png")

    def overflow():
        return p.js("return document.documentElement.scrollWidth - window.innerWidth")

    def columns():
        return p.js("return getComputedStyle(document.querySelector('main')).gridTemplateColumns.split(' ').length")

    size = p.b.get_window_size()
    p.b.set_window_size(1024, size["height"])
    check(p.js("return window.innerWidth") == 1024, "a 1,024 px window")
    check(overflow() <= 0 and columns() == 2, f"at 1,024 px nothing overflows; the value goes under the keys ({columns()} columns)")
    p.b.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 640, "height": 400, "deviceScaleFactor": 2, "mobile": False})
    try:
        check(overflow() <= 0 and columns() == 1, "at 200 % zoom of a 1,280 px window: one column, nothing overflows")
        p.js("document.getElementById('keys').scrollIntoView()")
        p.screenshot(shots, "explorer-zoom.png")
    finally:
        p.b.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    p.b.set_window_size(size["width"], size["height"])
    p.b.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": [{"name": "prefers-color-scheme", "value": "dark"}]})
    try:
        background = p.js("return getComputedStyle(document.documentElement).backgroundColor")
        check(background == "rgb(21, 25, 30)", f"dark mode follows prefers-color-scheme ({background})")
        p.screenshot(shots, "explorer-dark.png")
    finally:
        p.b.execute_cdp_cmd("Emulation.setEmulatedMedia", {"features": []})
    check(p.js("return getComputedStyle(document.documentElement).backgroundColor") == "rgb(255, 255, 255)", "and back to light")

    p.expect_errors("status of 409")
    p.el("#create-name").send_keys("a11y", Keys.ENTER)
    p.until(lambda: "already" in (p.text("#alert") or ""), "an error is shown")
    check(p.el("#alert").get_attribute("role") == "alert", "errors are in a role=alert region")
    check("already" not in p.status(), "not in the polite status")

    p.el("#delete-key").click()
    p.until(lambda: p.el("#confirm").get_attribute("open") is not None, "a dialog opens")
    check(p.js("return document.querySelector('#confirm').contains(document.activeElement)"), "focus moves into the dialog")
    press(p, Keys.ESCAPE)
    p.until(lambda: p.el("#confirm").get_attribute("open") is None, "Escape closes it")
    check(p.js("return document.activeElement.id") == "delete-key", "focus returns to the button that opened it")
    p.el("#new-key").click()
    check(p.js("return document.activeElement.id") == "edit-key", "the editor focuses its first field")
    press(p, Keys.ESCAPE)
    check(p.js("return document.activeElement.id") == "new-key", "and gives focus back")
