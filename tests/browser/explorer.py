"""Drives the data explorer in headless Chromium (issue #17), against `storage kv serve`.

Creates a namespace through the form, puts a JSON key through the form, sees it in the list,
opens it and sees it formatted, fills the namespace with enough keys to page, checks paging and
the prefix filter, deletes the key through the confirmation dialog, and saves a screenshot of the
main view. Run by scripts/browser-test.sh; exits non-zero on the first failed check.

    python3 tests/browser/explorer.py BINARY [SCREENSHOT]
"""

import json
import os
import subprocess
import sys
import tempfile
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

BIN = sys.argv[1]
SCREENSHOT = sys.argv[2] if len(sys.argv) > 2 else None


def keys(browser):
    """The keys in the list now, read in one go (the list is re-rendered as it changes)."""
    return browser.execute_script(
        "return Array.from(document.querySelectorAll('#key-table tbody tr'), r => r.dataset.key)")


def check(condition, what):
    if not condition:
        raise SystemExit(f"explorer: FAILED: {what}")
    print(f"explorer: ok: {what}")


def main():
    work = tempfile.mkdtemp()
    serve = subprocess.Popen(
        [BIN, "-q", "--json", "storage", "kv", "serve", "--port", "0", "--in-memory",
         "--provision-delay", "300ms"],
        cwd=work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        env={"PATH": os.environ.get("PATH", ""), "HOME": work})
    listening = json.loads(serve.stdout.readline())
    url, base = listening["explorer_url"], listening["base_url"]
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     "--window-size=1400,900", "--disable-gpu", "--no-proxy-server"):
        options.add_argument(argument)
    if os.path.exists("/usr/bin/chromium"):
        options.binary_location = "/usr/bin/chromium"
    driver_path = "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None
    browser = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    wait = WebDriverWait(browser, 15)
    try:
        browser.get(url)
        wait.until(lambda b: "Showing the local emulator" in b.find_element(By.ID, "target").text)
        check("token" not in browser.current_url, "the token is dropped from the address bar")
        check(browser.get_cookie(next(c["name"] for c in browser.get_cookies()))["httpOnly"],
              "the token cookie is HttpOnly")

        # Create a namespace through the form; it is pending, then ready.
        name = browser.find_element(By.ID, "create-name")
        name.send_keys("browser-test")
        name.send_keys(Keys.ENTER)
        wait.until(lambda b: "Created namespace browser-test" in b.find_element(By.ID, "status").text)
        entry = browser.find_element(By.CSS_SELECTOR, "#namespace-list button[aria-current='true']")
        check(entry.text.startswith("browser-test"), "the new namespace is listed and selected")
        wait.until(lambda b: "provision_ok" in b.find_element(
            By.CSS_SELECTOR, "#namespace-list button[aria-current='true']").text)

        # Put a JSON key through the form.
        browser.find_element(By.CSS_SELECTOR, "#put-panel summary").click()
        browser.find_element(By.ID, "put-key").send_keys("config.json")
        browser.find_element(By.ID, "put-value").send_keys('{"theme":"dark","beta":[1,2]}')
        browser.find_element(By.ID, "put-type").send_keys("application/json")
        browser.find_element(By.CSS_SELECTOR, "#put-form button[type='submit']").click()
        wait.until(lambda b: "Created key config.json" in b.find_element(By.ID, "status").text)
        check(keys(browser) == ["config.json"], "the key is in the list")
        check("29 bytes" in browser.find_element(By.CSS_SELECTOR, "#key-table tbody tr").text,
              "the list shows the key's size")

        # The value view pretty-prints JSON.
        body = wait.until(ec.visibility_of_element_located((By.ID, "value-body")))
        check(body.get_attribute("data-view") == "json", "the value is shown as JSON")
        check(body.text == '{\n  "theme": "dark",\n  "beta": [\n    1,\n    2\n  ]\n}',
              "the JSON is formatted")
        check("application/json" in browser.find_element(By.ID, "value-meta").text,
              "the content type is shown")

        # A namespace bigger than a page: paging and the prefix filter (keys put over the API).
        ns = json.loads(urllib.request.urlopen(urllib.request.Request(
            base + "/storage/kvs", headers={"Authorization": "Bearer x"})).read())["data"][0]["id"]
        for i in range(150):
            urllib.request.urlopen(urllib.request.Request(
                f"{base}/storage/kvs/{ns}/keys/user%2F{i:03d}", data=b"v", method="PUT",
                headers={"Authorization": "Bearer x"})).read()
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/storage/kvs/{ns}/keys/logo.bin", data=bytes(range(256)), method="PUT",
            headers={"Authorization": "Bearer x", "Content-Type": "application/octet-stream"})).read()
        prefix = browser.find_element(By.ID, "prefix")
        prefix.send_keys("user/")
        prefix.send_keys(Keys.ENTER)
        wait.until(lambda b: len(keys(b)) == 100)
        check(browser.find_element(By.ID, "next").is_enabled(), "a second page is offered")
        browser.find_element(By.ID, "next").click()
        wait.until(lambda b: len(keys(b)) == 50)
        check(keys(browser)[0] == "user/100", "page 2 starts after page 1")
        prefix.clear()
        prefix.send_keys(Keys.ENTER)
        wait.until(lambda b: keys(b)[:2] == ["config.json", "logo.bin"])

        # Binary values are a hex dump.
        browser.find_element(By.CSS_SELECTOR, "#key-table tbody tr[data-key='logo.bin'] button").click()
        wait.until(lambda b: b.find_element(By.ID, "value-body").get_attribute("data-view") == "hex")
        check(browser.find_element(By.ID, "value-body").text.startswith(
            "00000000  00 01 02 03 04 05 06 07 08 09 0a 0b 0c 0d 0e 0f"), "binary shows as hex")

        # Opening the namespace again counts its keys again.
        browser.find_element(By.CSS_SELECTOR, "#namespace-list button[aria-current='true']").click()
        wait.until(lambda b: "152 keys" in b.find_element(
            By.CSS_SELECTOR, "#namespace-list button[aria-current='true']").text)
        check(True, "the namespace list shows the key count")
        wait.until(lambda b: keys(b)[:1] == ["config.json"])
        # An SVG is markup: shown as text, never as an image (a blob URL would be this origin's).
        urllib.request.urlopen(urllib.request.Request(
            f"{base}/storage/kvs/{ns}/keys/icon.svg", method="PUT",
            data=b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
            headers={"Authorization": "Bearer x", "Content-Type": "image/svg+xml"})).read()
        browser.find_element(By.ID, "prefix").send_keys(Keys.ENTER)
        wait.until(lambda b: "icon.svg" in keys(b))
        browser.find_element(By.CSS_SELECTOR, "#key-table tbody tr[data-key='icon.svg'] button").click()
        wait.until(lambda b: "icon.svg" in b.find_element(By.ID, "value-title").text)
        check(browser.find_element(By.ID, "value-body").get_attribute("data-view") == "text"
              and not browser.find_elements(By.CSS_SELECTOR, "#value-body img"),
              "an SVG value is shown as text, not as an image")

        browser.find_element(By.CSS_SELECTOR, "#key-table tbody tr[data-key='config.json'] button").click()
        wait.until(lambda b: b.find_element(By.ID, "value-body").get_attribute("data-view") == "json")
        if SCREENSHOT:
            os.makedirs(os.path.dirname(os.path.abspath(SCREENSHOT)), exist_ok=True)
            browser.save_screenshot(SCREENSHOT)
            print(f"explorer: screenshot in {SCREENSHOT}")

        # Delete with confirmation: cancel keeps the key, confirming deletes it.
        browser.find_element(By.ID, "delete-key").click()
        dialog = wait.until(ec.visibility_of_element_located((By.ID, "confirm")))
        check("Delete key config.json" in dialog.text, "deleting asks first")
        dialog.find_element(By.CSS_SELECTOR, "button[value='cancel']").click()
        wait.until(ec.invisibility_of_element_located((By.ID, "confirm")))
        check("config.json" in keys(browser), "cancel keeps the key")
        browser.find_element(By.ID, "delete-key").click()
        wait.until(ec.visibility_of_element_located((By.ID, "confirm")))
        browser.find_element(By.ID, "confirm-ok").click()
        wait.until(lambda b: "Deleted key config.json" in b.find_element(By.ID, "status").text)
        check("config.json" not in keys(browser), "the key is gone from the list")
        gone = urllib.request.Request(f"{base}/storage/kvs/{ns}/keys/config.json",
                                      headers={"Authorization": "Bearer x"})
        try:
            urllib.request.urlopen(gone)
            check(False, "the key is gone from the emulator")
        except urllib.error.HTTPError as err:
            check(err.code == 404, "the key is gone from the emulator")
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        check(not errors, f"no errors in the browser console {errors}")
    finally:
        browser.quit()
        serve.terminate()
        serve.wait()


if __name__ == "__main__":
    main()
