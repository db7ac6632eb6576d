"""The explorer's browser tests for the findings of its review: values the views or the editor
could not take (deep or large JSON, bytes a text field would change), loads that overlap, a
namespace deleted or a session ended while the page is open, and the smaller keyboard and
confirmation fixes."""

import json
import subprocess
import time

from selenium.webdriver.common.keys import Keys

from harness import check, fill, press


def test_10_deep_and_large_json(p, shots):
    ns = p.server.namespace("deep")
    p.server.put(ns, "nest250", "[" * 250 + "]" * 250, "application/json")
    p.server.put(ns, "nest20000", "[" * 20000 + "]" * 20000, "application/json")
    big = json.dumps([{"id": i, "name": f"item {i}", "tags": ["a", "b"]} for i in range(18500)])
    p.server.put(ns, "big.json", big, "application/json")
    p.open()
    p.open_namespace("deep")
    p.until(lambda: len(p.keys()) == 3, "listed")

    p.open_key("nest250")
    body = p.el("#value-body")
    check(body.get_attribute("data-view") == "json", "a deeply nested value opens in the JSON view")
    depth = p.js("let n = 0; for (let e = document.querySelector('#value-body .json'); e; e = e.querySelector(':scope > .j-member, :scope > details, :scope > .j-items')) if (e.tagName === 'DETAILS') n++; return n")
    check(depth == 64, f"its containers are drawn 64 levels deep ({depth})")
    check("(nested deeper than 64 levels: shown as text)" in p.text("#value-body .j-deep")
          and p.text("#value-body .j-deep").endswith("[" * 186 + "]" * 186), "deeper, the rest is its text")

    p.open_key("nest20000")
    check(body.get_attribute("data-view") == "json" and p.text("#alert") == "",
          f"20,000 levels open too, without an error: {p.text('#alert')!r}")
    check([b.text for b in p.els("#value-views button")] == ["JSON", "Text", "Hex"], "with text and hex offered")
    p.el("#value-views button[data-view='hex']").click()
    check(body.get_attribute("data-view") == "hex", "the hex view shows")

    p.open_key("big.json")
    nodes = p.js("return document.querySelectorAll('#value-body *').length")
    check(nodes < 20000, f"a 1 MiB JSON value builds a few nodes at first ({nodes})")
    check(p.js("return document.querySelectorAll('#value-body .json > details > .j-items > .j-member').length") == 500,
          "500 items of the array are drawn")
    more = p.el("#value-body .j-more")
    check(more.text == "Show 500 more of 18000 left", f"a button draws the next ones: {more.text!r}")
    p.click("#value-body .j-more")
    check(p.js("return document.querySelectorAll('#value-body .json > details > .j-items > .j-member').length") == 1000,
          "then 1,000 are drawn")
    folded = "#value-body .j-member[data-path='$[900]'] > details"
    check(p.js(f"return document.querySelector(\"{folded}\").open") is False
          and p.js(f"return document.querySelector(\"{folded} .j-items\").childElementCount") == 0,
          "past the first members, objects start folded and empty")
    p.click(f"{folded} > summary")
    check(p.js(f"return Array.from(document.querySelectorAll(\"{folded} > .j-items > .j-member > .j-key\"), e => e.textContent)")
          == ['"id"', '"name"', '"tags"'], "and are drawn when opened")
    p.click("#value-body .j-member[data-path='$[900].name']")
    p.el("#copy-value").click()
    check(body.get_attribute("data-copied") == '"item 900"', "their members can be copied")


def test_11_edits_keep_bytes_and_expiry(p, shots):
    ns = p.server.namespace("exact")
    p.server.put(ns, "crlf", b"line1\r\nline2", "text/plain")
    p.server.put(ns, "bom", b'\xef\xbb\xbf{"a":1}', "application/json")
    p.server.put(ns, "plain", "abc", "text/plain", ttl=600)
    p.server.put(ns, "later", "v1", "text/plain", ttl=600)
    p.open()
    p.open_namespace("exact")
    p.until(lambda: len(p.keys()) == 4, "listed")

    for key, why, stored in [("crlf", "CR line breaks", b"line1\r\nline2"),
                             ("bom", "byte order mark", b'\xef\xbb\xbf{"a":1}')]:
        p.open_key(key)
        p.el("#edit-key-button").click()
        check(why in p.text("#edit-value-label"), f"{key} is edited as hex: {p.text('#edit-value-label')!r}")
        p.el("#editor-save").click()
        p.until(lambda: p.status() == f"No change: nothing was written to {key}.", f"saving {key} unchanged writes nothing")
        check(p.server.get(ns, key) == stored, f"{key} keeps its bytes")

    p.open_key("plain")
    p.el("#edit-key-button").click()
    check(p.text("#edit-value-label") == "Value (text)", "text that a field holds as is is edited as text")
    p.el("#editor-save").click()
    p.until(lambda: p.status() == "No change: nothing was written to plain.", "saving it unchanged writes nothing")

    # The TTL left as pre-filled keeps the expiry time, however long the editor stays open.
    p.open_key("later")
    expires = int(p.el("#key-table tr[data-key='later'] td.ttl").get_attribute("data-expires"))
    p.el("#edit-key-button").click()
    time.sleep(2.5)
    fill(p, "#edit-value", "v2")
    p.el("#editor-save").click()
    p.until(lambda: "Saved key later" in p.status(), "saved")
    after = int(p.el("#key-table tr[data-key='later'] td.ttl").get_attribute("data-expires"))
    check(0 <= after - expires < 1500, f"the expiry stays where it was ({after - expires} ms later)")

    # Expired while the editor was open: said so, and not written back with a TTL of 1 s.
    p.server.put(ns, "short", "old", "text/plain", ttl=3)
    p.el("#filter-form button[type='submit']").click()
    p.until(lambda: "short" in p.keys(), "a key about to expire is listed")
    p.open_key("short")
    p.el("#edit-key-button").click()
    p.until(lambda: p.server.get(ns, "short") is None, "the key expires")
    fill(p, "#edit-value", "mine")
    p.el("#editor-save").click()
    p.until(lambda: "short expired at" in p.text("#editor-alert"), "saving says it expired")
    check("while the editor was open; nothing was saved" in p.text("#editor-alert"), "and that nothing was saved")
    check(p.server.get(ns, "short") is None, "nothing was written")
    fill(p, "#edit-ttl", "")
    p.expect_errors("status of 409 (Conflict)", "status of 404 (Not Found)")
    p.el("#editor-save").click()
    p.until(lambda: p.el("#conflict").is_displayed(), "cleared, the save finds the key gone")
    p.el("#keep-mine").click()
    p.until(lambda: p.server.get(ns, "short") == b"mine", "and writes it again when asked, without a TTL")


def test_12_select_all_during_a_load(p, shots):
    ns = p.server.namespace("overlap")
    p.server.bulk_put(ns, [{"key": f"k/{i:05d}", "value": "v"} for i in range(3000)])
    p.open()
    p.open_namespace("overlap")
    p.until(lambda: "of 3,000 ·" in p.text("#page-number"), "listed")

    p.js("document.getElementById('next').click(); document.getElementById('select-matching').click()")
    p.until(lambda: p.status() == "Selected 3,000 matching keys.", "select all matching ends")
    p.until(lambda: p.keys()[:1] == ["k/00100"], "the next page shows")
    check(p.text("#page-number").startswith("Page 2 · keys 101–200 of 3,000"), f"under its pager: {p.text('#page-number')!r}")
    check(p.text("#bulk-count") == "3,000 keys selected", "every key is selected")
    check(not p.el("#next").get_property("disabled") and not p.el("#previous").get_property("disabled"),
          "and the pager works")
    p.el("#next").click()
    p.until(lambda: p.keys()[:1] == ["k/00200"], "Next goes on")

    fill(p, "#search", "k/0000")
    p.js("document.querySelector('#filter-form button[type=submit]').click(); document.getElementById('select-matching').click()")
    p.until(lambda: p.status() == "Selected 10 matching keys.", "select all matching during a search ends")
    p.until(lambda: (p.text("#search-info") or "").startswith("10 matches for k/0000 in 3,000 keys"),
            "the search ends too")
    check(p.keys() == [f"k/{i:05d}" for i in range(10)], "and shows its matches")


def delete_namespace(p, name):
    """Deletes a namespace with the CLI, as someone else would while the page is open."""
    subprocess.run([p.server.binary, "-q", "--local", "--yes", "storage", "kv", "delete", "--force", name],
                   cwd=p.server.work, env=p.server.env, check=True, stdout=subprocess.DEVNULL)


def listed(p, name):
    """Whether the list of namespaces has `name` (read from the page, scrolled or not)."""
    return p.js("return Array.from(document.querySelectorAll('#namespace-list button'), b => b.firstChild.textContent)"
                ".includes(arguments[0])", name)


def test_13_namespace_deleted_while_open(p, shots):
    ns = p.server.namespace("doomed")
    p.server.put(ns, "html", "<p>hi</p>", "text/plain")
    p.open()
    p.open_namespace("doomed")
    p.open_key("html")
    delete_namespace(p, "doomed")
    p.expect_errors("404 (Not Found)", "409 (Conflict)")
    fill(p, "#search", "h")
    p.el("#filter-form button[type='submit']").click()
    p.until(lambda: p.text("#alert") == "The namespace doomed no longer exists: it was deleted elsewhere.",
            "a search says the namespace is gone")
    check(not p.el("#keys").is_displayed() and not p.el("#value").is_displayed(), "its keys and value are cleared")
    p.until(lambda: not listed(p, "doomed"),
            "and the list of namespaces is read again")
    check(p.js("return location.hash") == "", f"the address drops it: {p.js('return location.hash')!r}")

    ns = p.server.namespace("doomed2")
    p.server.put(ns, "html", "<p>hi</p>", "text/plain")
    p.el("#refresh-namespaces").click()
    p.until(lambda: listed(p, "doomed2"), "Refresh lists a namespace made elsewhere")
    # The list may scroll: its entry in view, so that its text can be read and clicked.
    p.js("Array.from(document.querySelectorAll('#namespace-list button'))"
         ".find(b => b.firstChild.textContent === 'doomed2').scrollIntoView({block: 'center'})")
    p.open_namespace("doomed2")
    p.open_key("html")
    p.el("#edit-key-button").click()
    delete_namespace(p, "doomed2")
    fill(p, "#edit-value", "mine")
    p.expect_errors("404 (Not Found)", "409 (Conflict)")
    p.el("#editor-save").click()
    p.until(lambda: p.text("#alert") == "The namespace doomed2 no longer exists: it was deleted elsewhere.",
            "saving says the namespace is gone, not the key")
    check(p.el("#editor").get_attribute("open") is None, "and the editor closes")

    p.server.namespace("made-elsewhere")
    check(not listed(p, "made-elsewhere"), "a new namespace is not listed yet")
    p.el("#refresh-namespaces").click()
    p.until(lambda: listed(p, "made-elsewhere"), "Refresh lists it")

    p.open(f"#ns={ns}&key=html")
    check(p.text("#alert") == f"No namespace has the id {ns} (the address names one that was deleted, or is from elsewhere).",
          f"a link to a namespace that is gone says so: {p.text('#alert')!r}")
    check(p.js("return location.hash") == "", "and the address drops it")


SESSION_ENDED = "This explorer session has ended: open the URL its command printed."


def test_14_session_ended(p, shots):
    p.server.namespace("after-restart")
    p.open()
    p.open_namespace("after-restart")
    p.el("#log-toggle").click()
    p.until(lambda: p.el("#log").is_displayed(), "the log shows")
    # The cookie gone is what a restarted emulator's guard sees: a token not its own.
    p.b.delete_all_cookies()
    p.expect_errors("401 (Unauthorized)")
    p.until(lambda: p.text("#alert") == SESSION_ENDED, "the page says the session ended")
    polls = "return performance.getEntriesByType('resource').filter(e => e.name.includes('/requests?')).length"
    before = p.js(polls)
    time.sleep(2.5)
    check(p.js(polls) == before, "the log stops asking")
    p.js("document.getElementById('alert').textContent = ''")
    p.el("#filter-form button[type='submit']").click()
    p.until(lambda: p.text("#alert") == SESSION_ENDED, "every call says the same")


def test_15_keyboard_and_confirmations(p, shots):
    ns = p.server.namespace("keys-and-boxes")
    p.server.bulk_put(ns, [{"key": f"a/{i:03d}", "value": "v"} for i in range(120)]
                      + [{"key": "b/x", "value": "v"}, {"key": "b/y", "value": "v"}])
    p.open(f"#ns={ns}&page=500")
    p.until(lambda: p.keys()[:1] == ["a/100"], "a page past the last shows the last")
    check(p.js("return location.hash") == f"#ns={ns}&page=2", f"and the address says so: {p.js('return location.hash')!r}")

    # With focus on a row's box, the keys still work.
    p.click("#key-table tbody tr[data-key='b/x'] input")
    check(p.js("return document.activeElement.type") == "checkbox", "focus is on the box")
    press(p, "j")
    check(p.js("return document.activeElement.closest('tr').dataset.key") == "b/y", "j moves on from the box's row")
    press(p, Keys.ENTER)
    p.until(lambda: p.text("#value-title") == "b/y", "Enter opens the key j moved to")

    # Delete acts on the key shown, like e.
    p.el("#previous").click()
    p.until(lambda: p.keys()[:1] == ["a/000"], "the first page")
    p.open_key("a/005")
    p.js("document.querySelector(\"#key-table tr[data-key='a/001'] button.key\").focus()")
    press(p, Keys.DELETE)
    p.until(lambda: p.el("#confirm").get_attribute("open") is not None, "Delete asks")
    check(p.text("#confirm-text").startswith("Delete key a/005 "), f"about the key shown: {p.text('#confirm-text')!r}")
    p.el("#confirm button[value='cancel']").click()

    # In the tree, j and k move over the keys shown.
    p.el("#tree-view").click()
    p.click("#key-tree summary")
    p.js("document.activeElement.blur()")
    press(p, "j")
    check(p.js("return document.activeElement.dataset.key") == "a/000", "j goes to the first key of the tree")
    press(p, "jj")
    check(p.js("return document.activeElement.dataset.key") == "a/002", "and on down")
    press(p, "k")
    press(p, Keys.ENTER)
    p.until(lambda: p.text("#value-title") == "a/001", "Enter opens it")
    p.el("#tree-view").click()

    # A selection ends with its prefix or search; the typed confirmation takes Enter.
    p.el("#select-matching").click()
    p.until(lambda: p.text("#bulk-count") == "122 keys selected", "every key selected")
    fill(p, "#prefix", "b/")
    p.el("#filter-form button[type='submit']").click()
    p.until(lambda: p.keys() == ["b/x", "b/y"], "another prefix")
    check(not p.el("#bulk-bar").is_displayed(), "clears the selection")
    fill(p, "#prefix", "")
    p.el("#filter-form button[type='submit']").click()
    p.until(lambda: p.keys()[:1] == ["a/000"], "back to every key")
    p.el("#select-matching").click()
    p.until(lambda: p.text("#bulk-count") == "122 keys selected", "every key selected again")
    p.el("#delete-selected").click()
    p.until(lambda: p.el("#confirm-typed").is_displayed(), "122 keys: the name must be typed")
    p.el("#confirm-typed").send_keys("keys-and")
    p.el("#confirm-typed").send_keys(Keys.ENTER)
    check(p.el("#confirm").get_attribute("open") is not None, "Enter before the name matches does nothing")
    p.el("#confirm-typed").send_keys("-boxes" + Keys.ENTER)
    p.until(lambda: p.status() == "Deleted 122 keys.", "Enter once it matches deletes")
    check(p.server.get(ns, "b/x") is None, "gone from the emulator")
