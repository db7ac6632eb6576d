"""The explorer's browser tests for the page itself and items 1 to 4 of issue #27: columns,
edit in place, search, navigation. Each takes the open page and the screenshot directory."""

import re
import time

from selenium.webdriver.common.keys import Keys

from harness import By, check, content_type, fill, press


def test_0_page_and_guards(p, shots):
    p.open()
    check("token" not in p.b.current_url, "the token is dropped from the address bar")
    cookie = p.b.get_cookies()[0]
    check(cookie["httpOnly"] and cookie.get("sameSite") == "Strict", "the token cookie is HttpOnly and SameSite=Strict")
    heads = p.js("""
        const got = {};
        for (const path of ['/', '/js/main.js', '/js/keys.js', '/explorer.css', '/js/nope.js']) {
          const r = await fetch(path);
          got[path] = [r.status, r.headers.get('content-type'), r.headers.get('content-security-policy')];
        }
        return got;""")
    check(heads["/js/main.js"][:2] == [200, "text/javascript; charset=utf-8"]
          and heads["/js/keys.js"][:2] == [200, "text/javascript; charset=utf-8"],
          "the script's modules are served as JavaScript")
    check(heads["/explorer.css"][1] == "text/css; charset=utf-8", "the style sheet is served as CSS")
    p.expect_errors("/js/nope.js")
    check(heads["/js/nope.js"][0] == 404, "an unknown module is 404")
    csp = heads["/"][2]
    check("script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe" not in csp,
          "the page's CSP allows only its own script and style")
    check(p.js("return document.querySelectorAll('script:not([src]), style, [style]').length") == 0,
          "the page has no inline script or style")

    # A namespace through the form; it is pending, then ready.
    p.el("#create-name").send_keys("page-test", Keys.ENTER)
    p.until(lambda: "Created namespace page-test" in p.status(), "the namespace is created")
    entry = p.el("#namespace-list button[aria-current='true']")
    check(entry.text.startswith("page-test"), "the new namespace is listed and selected")

    # A key through the editor; a blank content type is text/plain, as the placeholder says.
    p.el("#new-key").click()
    p.el("#edit-key").send_keys("config.json")
    fill(p, "#edit-value", '{"theme":"dark","beta":[1,2]}')
    p.el("#edit-type").send_keys("application/json")
    p.el("#editor-save").click()
    p.until(lambda: "Created key config.json (29 bytes)" in p.status(), "the key is created")
    check(p.keys() == ["config.json"], "the key is listed")
    ns = p.js("return location.hash.match(/ns=([^&]+)/)[1]")
    check(p.server.get(ns, "config.json") == b'{"theme":"dark","beta":[1,2]}', "the emulator has the bytes typed")
    p.el("#new-key").click()
    p.el("#edit-key").send_keys("note")
    fill(p, "#edit-value", "hello")
    p.el("#editor-save").click()
    p.until(lambda: "Created key note" in p.status(), "a key without a content type is created")
    check(content_type(p.server, ns, "note") == "text/plain", "a blank content type is stored as text/plain")

    # Stored markup is never markup in the page: an SVG is text, never an image.
    p.server.put(ns, "icon.svg", '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "image/svg+xml")
    p.el("#filter-form button[type='submit']").click()
    p.until(lambda: "icon.svg" in p.keys(), "the SVG is listed")
    p.open_key("icon.svg")
    check(p.el("#value-body").get_attribute("data-view") == "text" and not p.els("#value-body img"),
          "an SVG value is shown as text, not as an image")


def test_1_columns(p, shots):
    ns = p.server.namespace("columns")
    p.server.put(ns, "session/abc", "token", "text/plain", ttl=3600)
    p.server.put(ns, "session/short", "x", "text/plain", ttl=90)
    p.server.put(ns, "big.bin", bytes(2048), "application/octet-stream")
    p.server.put(ns, "small", "hi")
    p.open()
    p.open_namespace("columns")
    p.until(lambda: len(p.keys()) == 4, "the keys are listed")
    heads = [th.text for th in p.els("#key-head th")]
    check(heads == ["", "Key", "Size", "Updated", "TTL left", "Expires"], f"the columns are key, size, updated, TTL left, expiry: {heads}")

    def cells(key):
        return p.js("return Array.from(document.querySelector(`#key-table tr[data-key='${arguments[0]}']`).cells, c => c.textContent)", key)

    row = cells("session/abc")
    check(re.fullmatch(r"(59 min \d\d s|1 h 00 min)", row[4]) is not None, f"a 1 h key shows its time left: {row[4]}")
    expires = p.js("return document.querySelector(\"#key-table tr[data-key='session/abc'] td:last-child time\").dateTime")
    left = time.mktime(time.strptime(expires, "%Y-%m-%dT%H:%M:%SZ")) - time.mktime(time.gmtime())
    check(3500 < left <= 3600, f"its expiry time is an hour from now: {expires}")
    check(cells("small")[4] == "never" and cells("small")[5] == "—", "a key without TTL never expires")
    check(cells("big.bin")[2] == "2,048 bytes", "the size column")
    check(re.fullmatch(r"\d\d:\d\d:\d\d", cells("small")[3]) is not None, "the update time (today: the time of day)")
    before = cells("session/short")[4]
    p.until(lambda: cells("session/short")[4] != before, "the time left counts down")
    check(re.fullmatch(r"1 min \d\d s", cells("session/short")[4]) is not None, f"live countdown: {before} → {cells('session/short')[4]}")

    p.el("#key-head button[data-column='size']").click()
    check(p.keys() == ["session/short", "small", "session/abc", "big.bin"], f"sorted by size: {p.keys()}")
    check(p.el("#key-head th:nth-child(3)").get_attribute("aria-sort") == "ascending", "the sorted column says so")
    p.el("#key-head button[data-column='size']").click()
    check(p.keys() == ["big.bin", "session/abc", "small", "session/short"], "sorted by size, descending")
    p.el("#key-head button[data-column='ttl']").click()
    check(p.keys()[:2] == ["session/short", "session/abc"], "sorted by time left: the soonest first")
    p.el("#key-head button[data-column='key']").click()
    check(p.keys() == ["big.bin", "session/abc", "session/short", "small"], "sorted by key")
    p.open_key("session/abc")
    check(re.fullmatch(r"(59 min \d\d s|1 h 00 min)", p.text("#value-meta dd[data-meta='TTL left']")) is not None,
          "the value panel shows the time left too")
    p.screenshot(shots, "explorer-columns.png")


def test_2_edit_in_place(p, shots):
    ns = p.server.namespace("editing")
    p.server.put(ns, "settings.json", '{"theme":"dark","n":1}', "application/json", ttl=600)
    p.server.put(ns, "blob.bin", bytes(range(250, 256)) + bytes(range(14)), "application/octet-stream")
    p.open()
    p.open_namespace("editing")
    p.until(lambda: "settings.json" in p.keys(), "listed")
    p.open_key("settings.json")
    p.el("#edit-key-button").click()
    p.expect_errors("status of 409 (Conflict)")
    check(p.el("#editor").get_attribute("open") is not None, "Edit opens the editor")
    check(p.el("#edit-value").get_attribute("value") == '{"theme":"dark","n":1}', "the editor holds the value as stored")
    check(p.el("#edit-type").get_attribute("value") == "application/json", "and its content type")
    ttl = int(p.el("#edit-ttl").get_attribute("value"))
    check(590 <= ttl <= 600, f"and its time left as the TTL: {ttl}")
    check(p.js("return document.activeElement.id") == "edit-value", "focus goes to the value")

    fill(p, "#edit-value", '{"theme":')
    p.el("#editor-save").click()
    p.until(lambda: "not valid JSON" in p.text("#editor-alert"), "invalid JSON is refused")
    check(p.server.get(ns, "settings.json") == b'{"theme":"dark","n":1}', "nothing was written")

    fill(p, "#edit-value", '{"theme":"light","n":1}')
    fill(p, "#edit-ttl", "120")
    fill(p, "#edit-type", "application/vnd.app+json")
    p.el("#editor-save").click()
    p.until(lambda: "Saved key settings.json" in p.status(), "the edit is saved")
    check(p.server.get(ns, "settings.json") == b'{"theme":"light","n":1}', "the emulator has the edited value")
    check(content_type(p.server, ns, "settings.json") == "application/vnd.app+json", "and the new content type")
    left = p.text("#value-meta dd[data-meta='TTL left']")
    check(re.fullmatch(r"(1 min \d\d s|2 min 00 s)", left) is not None, f"and the new TTL: {left}")

    # Changed meanwhile: both versions are shown; the user picks.
    p.el("#edit-key-button").click()
    p.server.put(ns, "settings.json", '{"theme":"blue"}', "application/json")
    fill(p, "#edit-value", '{"theme":"mine"}')
    p.el("#editor-save").click()
    p.until(lambda: p.el("#conflict").is_displayed(), "a change meanwhile is caught")
    check("changed since you opened it" in p.text("#editor-alert"), "the editor says why")
    check(p.text("#conflict-mine") == '{"theme":"mine"}' and p.text("#conflict-theirs") == '{"theme":"blue"}',
          "both versions are shown")
    check(p.server.get(ns, "settings.json") == b'{"theme":"blue"}', "nothing was overwritten")
    p.screenshot(shots, "explorer-conflict.png")
    p.el("#keep-mine").click()
    p.until(lambda: p.server.get(ns, "settings.json") == b'{"theme":"mine"}', "overwrite with mine")
    p.until(lambda: p.el("#editor").get_attribute("open") is None and '"mine"' in p.text("#value-body"),
            "the editor closes on the value saved")
    check(True, "mine is stored")
    p.el("#edit-key-button").click()
    p.server.put(ns, "settings.json", '{"theme":"theirs"}', "application/json")
    fill(p, "#edit-value", '{"theme":"lost"}')
    p.el("#editor-save").click()
    p.until(lambda: p.el("#conflict").is_displayed(), "a second change meanwhile")
    p.el("#take-theirs").click()
    p.until(lambda: "Kept the stored version" in p.status(), "keep the stored version")
    check(p.server.get(ns, "settings.json") == b'{"theme":"theirs"}', "theirs stays")
    check('"theirs"' in p.text("#value-body"), "and is shown")

    # Bytes that are not text are edited as hex.
    p.open_key("blob.bin")
    p.el("#edit-key-button").click()
    check("hex" in p.text("#edit-value-label"), "binary is edited as hex")
    check(p.el("#edit-value").get_attribute("value").startswith("fa fb fc fd fe ff 00 01"), "the hex of the value")
    fill(p, "#edit-value", "ff 0g")
    p.el("#editor-save").click()
    p.until(lambda: "not a hex digit" in p.text("#editor-alert"), "bad hex is refused")
    fill(p, "#edit-value", "ff 00 7f")
    p.el("#editor-save").click()
    p.until(lambda: "Saved key blob.bin (3 bytes)" in p.status(), "the hex is saved")
    check(p.server.get(ns, "blob.bin") == b"\xff\x00\x7f", "the emulator has those bytes")


def test_3_search(p, shots):
    ns = p.server.namespace("ten-thousand")
    kinds = ["user", "order", "session", "cart"]
    names = [f"{kinds[i % 4]}/{i:05d}" for i in range(10000)]
    started = time.monotonic()
    p.server.bulk_put(ns, [{"key": k, "value": "v" * (i % 50), "content_type": "text/plain"} for i, k in enumerate(names)])
    print(f"  seeded 10,000 keys with bulk put in {time.monotonic() - started:.2f} s")
    p.open()
    started = time.monotonic()
    p.open_namespace("ten-thousand")
    p.until(lambda: "of 10,000 ·" in p.text("#page-number"), "the pager counts the keys")
    listed = time.monotonic() - started
    check(p.text("#page-number") == "Page 1 · keys 1–100 of 10,000 · 100 per page", "the pager says the page, its keys, the total and the size")
    print(f"  PERF: listed 10,000 keys (first page and the total) in {listed:.2f} s")

    def search(text):
        fill(p, "#search", text)
        p.js("document.getElementById('search-info').dataset.matches = ''")
        p.el("#filter-form button[type='submit']").click()
        p.until(lambda: p.el("#search-info").get_attribute("data-matches") not in ("", None), f"searching {text}")
        return int(p.el("#search-info").get_attribute("data-matches")), int(p.el("#search-info").get_attribute("data-ms"))

    expected = sorted(k for k in names if "0042" in k)
    found, ms = search("0042")
    check(found == len(expected) and p.keys() == expected, f"substring: {found} keys contain 0042")
    check(p.el("#search-info").get_attribute("data-seen") == "10000", "every key was searched")
    print(f"  PERF: substring search over 10,000 keys in {ms / 1000:.2f} s (browser-measured)")
    check(ms < 15000, "the search ends in reasonable time (a sanity bound, not a target)")
    check(p.text("#search-info").startswith(f"{len(expected)} matches for 0042 in 10,000 keys"), "the count is shown")
    glob = [k for k in names if re.fullmatch(r"order/.*7", k)]
    found, _ = search("order/*7")
    check(found == len(glob) == 500 and p.keys() == glob, f"glob: {found} keys match order/*7")
    found, _ = search("cart/0?01?")
    check(found == len([k for k in names if re.fullmatch(r"cart/0.01.", k)]), "glob with ?")

    # Stop: the search ends after the page in flight.
    fill(p, "#search", "user")
    p.js("document.getElementById('filter-form').requestSubmit(); document.getElementById('stop-search').click()")
    p.until(lambda: "(stopped)" in p.text("#search-info"), "Stop stops the search")
    check(p.el("#search-info").get_attribute("data-seen") == "1000", "after one page of 1,000 keys")

    found, _ = search("/0000")
    check(found == 10, "ten keys contain /0000")
    p.screenshot(shots, "explorer-search.png")
    p.el("#tree-view").click()
    groups = [s.text for s in p.els("#key-tree summary")]
    check(groups == ["cart/ (2)", "order/ (3)", "session/ (2)", "user/ (3)"], f"the tree groups keys by /: {groups}")
    p.els("#key-tree summary")[0].click()
    check([b.text for b in p.els("#key-tree button.key") if b.is_displayed()] == ["00003", "00007"],
          "a group opens to its keys")
    p.screenshot(shots, "explorer-tree.png")
    p.el("#tree-view").click()

    fill(p, "#search", "")
    fill(p, "#prefix", "session/")
    p.el("#filter-form button[type='submit']").click()
    p.until(lambda: "of 2,500 ·" in p.text("#page-number"), "prefix filtering is the service's")
    check(p.keys()[0] == "session/00002", "prefix: the first session key")


def test_4_navigation(p, shots):
    ns = p.server.namespace("navigation")
    p.server.bulk_put(ns, [{"key": f"item/{i:03d}", "value": str(i)} for i in range(150)]
                      + [{"key": "doc.json", "value": "{}", "content_type": "application/json"}])
    p.open()
    p.open_namespace("navigation")
    fill(p, "#prefix", "item/")
    p.el("#filter-form button[type='submit']").click()
    p.until(lambda: p.keys()[:1] == ["item/000"], "filtered")
    p.el("#next").click()
    p.until(lambda: p.keys()[:1] == ["item/100"], "page 2")
    p.open_key("item/120")
    url = p.b.current_url
    check(f"ns={ns}" in url and "prefix=item%2F" in url and "page=2" in url and "key=item%2F120" in url,
          f"the address holds namespace, prefix, page and key: {url}")
    p.b.refresh()
    p.ready()
    p.until(lambda: p.keys()[:1] == ["item/100"] and p.text("#value-title") == "item/120", "a reload comes back")
    check(p.el("#prefix").get_attribute("value") == "item/" and "Page 2" in p.text("#page-number"),
          "to the same prefix and page, with the key open")
    p.b.back()
    p.until(lambda: p.el("#value").get_attribute("hidden") is not None, "back closes the key")
    check(p.keys()[:1] == ["item/100"], "and stays on page 2")
    p.b.back()
    p.until(lambda: p.keys()[:1] == ["item/000"], "back again is page 1")
    p.b.get(p.server.url.split("/?")[0] + f"/#ns={ns}&q=doc")
    p.ready()
    p.until(lambda: p.keys() == ["doc.json"], "a link with a search opens it")
    check(p.el("#search").get_attribute("value") == "doc", "the search field shows it")

    # Keyboard.
    p.b.get(p.server.url.split("/?")[0] + f"/#ns={ns}")
    p.ready()
    p.until(lambda: len(p.keys()) == 100, "listed")
    p.el("#keys-title").click()
    press(p, "/")
    check(p.js("return document.activeElement.id") == "search", "/ goes to the search field")
    p.el("#keys-title").click()
    press(p, "jj")
    check(p.js("return document.activeElement.textContent") == "item/000", "j moves down (the first key is doc.json)")
    press(p, "k")
    check(p.js("return document.activeElement.textContent") == "doc.json", "k moves up")
    press(p, "j")
    press(p, Keys.ENTER)
    p.until(lambda: p.text("#value-title") == "item/000", "Enter opens the key")
    press(p, "e")
    p.until(lambda: p.el("#editor").get_attribute("open") is not None, "e edits it")
    press(p, Keys.ESCAPE)
    p.until(lambda: p.el("#editor").get_attribute("open") is None, "Escape closes the editor")
    press(p, Keys.DELETE)
    p.until(lambda: p.el("#confirm").get_attribute("open") is not None, "Delete asks first")
    check("Delete key item/000" in p.text("#confirm-text"), "for that key")
    p.el("#confirm-ok").click()
    p.until(lambda: "Deleted key item/000" in p.status(), "deleted")
    check(p.server.get(ns, "item/000") is None, "the key is gone from the emulator")
