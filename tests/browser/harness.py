"""What the explorer's browser tests share: a `storage kv serve` on 127.0.0.1:0 over a
temporary state directory, headless Chromium driven through WebDriver, data seeded with the
CLI (`--local`, over the same state) or the emulator's API, and checks that say what they
checked. Tests may only talk to loopback; nothing here is timed except what is printed.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

TIMEOUT = 20


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"  ok: {what}", flush=True)


class Server:
    """`storage kv serve` over a state directory of its own; `url` is the explorer's."""

    def __init__(self, binary, extra=()):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="explorer-test-")
        self.state = os.path.join(self.work, "state")
        self.env = {"PATH": os.environ.get("PATH", ""), "HOME": self.work,
                    "TELNYX_EDGE_STATE_DIR": self.state, "NO_COLOR": "1"}
        self.process = subprocess.Popen(
            [binary, "-q", "--json", "storage", "kv", "serve", "--port", "0",
             "--provision-delay", "300ms", *extra],
            cwd=self.work, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
            env=self.env)
        line = self.process.stdout.readline()
        if not line:
            raise AssertionError("serve printed no line")
        listening = json.loads(line)
        self.url = listening["explorer_url"]
        self.base = listening["base_url"]

    def api(self, method, path, data=None, content_type=None, raw=False):
        headers = {"Authorization": "Bearer x"}
        if content_type:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(self.base + path, data=data, method=method,
                                         headers=headers)
        with urllib.request.urlopen(request) as response:
            body = response.read()
            if raw or not body or response.headers.get_content_type() != "application/json":
                return body
            return json.loads(body)

    def namespace(self, name):
        """A new namespace, once ready: its id."""
        ns = self.api("POST", "/storage/kvs", json.dumps({"name": name}).encode(),
                      "application/json")["data"]
        for _ in range(100):
            if self.api("GET", f"/storage/kvs/{ns['id']}")["data"]["status"] == "provision_ok":
                return ns["id"]
            time.sleep(0.1)
        raise AssertionError(f"{name} never became ready")

    def put(self, ns, key, value, content_type=None, ttl=None):
        path = f"/storage/kvs/{ns}/keys/{urllib.parse.quote(key, safe='')}"
        if ttl:
            path += f"?ttl_secs={ttl}"
        if isinstance(value, str):
            value = value.encode()
        self.api("PUT", path, value, content_type)

    def get(self, ns, key):
        """The value's bytes, or None when it is absent."""
        try:
            return self.api("GET", f"/storage/kvs/{ns}/keys/{urllib.parse.quote(key, safe='')}", raw=True)
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise

    def bulk_put(self, ns, lines):
        """Writes NDJSON lines with `telnyx-edge --local storage kv bulk put` (the CLI, through
        the running server's state)."""
        path = os.path.join(self.work, f"seed-{ns}.ndjson")
        with open(path, "w") as out:
            for line in lines:
                out.write(json.dumps(line) + "\n")
        subprocess.run([self.binary, "-q", "--local", "storage", "kv", "bulk", "put", ns, path],
                       cwd=self.work, env=self.env, check=True, stdout=subprocess.DEVNULL)

    def stop(self):
        self.process.terminate()
        self.process.wait()
        shutil.rmtree(self.work, ignore_errors=True)


def browser(width=1280, height=800, dark=False):
    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                     f"--window-size={width},{height}", "--disable-gpu", "--no-proxy-server",
                     "--hide-scrollbars"):
        options.add_argument(argument)
    if dark:
        options.add_argument("--force-dark-mode")
        options.add_argument("--blink-settings=preferredColorScheme=0")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    if os.path.exists("/usr/bin/chromium"):
        options.binary_location = "/usr/bin/chromium"
    driver_path = "/usr/bin/chromedriver" if os.path.exists("/usr/bin/chromedriver") else None
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    # The window's size includes its frame: make the page itself width × height.
    dw, dh = driver.execute_script(
        "return [window.outerWidth - window.innerWidth, window.outerHeight - window.innerHeight]")
    driver.set_window_size(width + dw, height + dh)
    return driver


class Page:
    """The explorer open in a browser, with the helpers the tests use."""

    def __init__(self, driver, server):
        self.b = driver
        self.server = server
        self.wait = WebDriverWait(driver, TIMEOUT)

    def open(self, fragment=""):
        self.b.get(self.server.url)
        self.ready()
        if fragment:
            self.b.get(self.server.url.split("/?")[0] + "/" + fragment)
            self.ready()

    def ready(self):
        self.wait.until(lambda b: b.execute_script("return document.body.dataset.ready === 'true'"))

    def el(self, css):
        return self.b.find_element(By.CSS_SELECTOR, css)

    def els(self, css):
        return self.b.find_elements(By.CSS_SELECTOR, css)

    def js(self, script, *args):
        return self.b.execute_script(script, *args)

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]); return e ? e.textContent : null", css)

    def until(self, condition, what):
        try:
            self.wait.until(lambda b: condition())
        except Exception as err:
            raise AssertionError(f"timed out waiting: {what} (status: {self.text('#status')!r}, alert: {self.text('#alert')!r})") from err

    def keys(self):
        """The keys listed now, read in one go (the list is re-rendered as it changes)."""
        return self.js("return Array.from(document.querySelectorAll('#key-table tbody tr'), r => r.dataset.key)")

    def status(self):
        return self.text("#status")

    def open_namespace(self, name):
        self.until(lambda: any(b.text.startswith(name) for b in self.els("#namespace-list button")),
                   f"{name} is listed")
        for button in self.els("#namespace-list button"):
            if button.text.startswith(name):
                button.click()
                break
        self.until(lambda: self.text("#keys-title") == f"Keys of {name}" and not self.js("return document.querySelector('#key-table') === null"), f"{name} opens")

    def click(self, css):
        """Clicks an element once scrolled to the middle (the pager sticks to the bottom)."""
        element = self.el(css)
        self.js("arguments[0].scrollIntoView({block: 'center'})", element)
        element.click()

    def open_key(self, key):
        self.click(f"#key-table tbody tr[data-key='{key}'] button.key")
        self.until(lambda: self.text("#value-title") == key and self.el("#value").is_displayed(), f"{key} opens")

    expected = []

    def expect_errors(self, *texts):
        """Failed requests the test causes on purpose: the browser logs them as errors."""
        self.expected.extend(texts)

    def errors(self):
        """The browser's errors since last asked, but for those the test expected."""
        found = [entry for entry in self.b.get_log("browser")
                 if entry["level"] == "SEVERE"
                 and not any(text in entry["message"] for text in self.expected)]
        self.expected = []
        return found

    def screenshot(self, directory, name):
        if not directory:
            return
        os.makedirs(directory, exist_ok=True)
        path = os.path.join(directory, name)
        self.b.save_screenshot(path)
        print(f"  screenshot: {path}")


def content_type(server, ns, key):
    """The content type the emulator stores for a key."""
    path = f"/storage/kvs/{ns}/keys/{urllib.parse.quote(key, safe='')}"
    request = urllib.request.Request(server.base + path, headers={"Authorization": "Bearer x"})
    with urllib.request.urlopen(request) as response:
        return response.headers.get("Content-Type")


def press(page, keys):
    """Types into whatever has focus, as a user would."""
    from selenium.webdriver.common.action_chains import ActionChains
    ActionChains(page.b).send_keys(keys).perform()


def fill(page, css, text):
    """Replaces a field's text (a textarea's too), then tells the page it changed."""
    page.js("const e = document.querySelector(arguments[0]); e.value = arguments[1];"
            "e.dispatchEvent(new Event('input', {bubbles: true}))", css, text)
