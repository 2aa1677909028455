#!/usr/bin/env python3
"""The browser half of bench/web.sh: headless Chromium over W3C WebDriver
(chromedriver), spoken to with the standard library only, at a phone's
viewport (360 x 740); and the page weight.

  web_driver.py weight BASE
      The app's text files as a browser finds them: /app/, what it links,
      the modules those import (static or dynamic), the service worker and
      the manifest (icons left out). Prints per file "PATH RAW GZIP9 SENT":
      its size, gzip -9 of it, and what the server sends when asked with
      Accept-Encoding: gzip.

  web_driver.py pair   DRIVER CHROME BASE USER PASSWORD RUNS
      RUNS times: a fresh browser profile (a phone that never saw the app)
      opens a new pairing URL (POST /api/v1/pairings, made just before).
      Prints per run "SIGNED_IN_MS LIVE_MS HTML DOM PAIR_START PAIR_END": from
      the navigation to the app screen showing the user name, and to its
      events socket being open; then the page's own marks (ms after the
      navigation began): the HTML received, DOMContentLoaded, the POST
      /api/v1/auth/pair sent and answered.
  web_driver.py upload DRIVER CHROME BASE USER PASSWORD FILE [FLOOR_FILE]
      Signs in through the form, picks FILE in the page's file input and
      waits for it in the clip list; then sends FLOOR_FILE with a bare
      XMLHttpRequest (the browser's floor). Prints "WALL_MS REQUEST_MS
      FLOOR_MS": from the pick to listed, the PUT /api/v1/buffer alone (the
      page's resource timing: request start to response end), the bare PUT.
"""
import base64
import re
import urllib.parse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

VIEWPORT = {"width": 360, "height": 740, "pixelRatio": 1, "touch": True}


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def http(method, url, body=None, headers=None, timeout=600):
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={"content-type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"{method} {url}: HTTP {e.code}: {e.read().decode()[:300]}") from None


class Driver:
    """chromedriver on a free port, in its own process group."""

    def __init__(self, binary):
        self.url = f"http://127.0.0.1:{free_port()}"
        port = self.url.rsplit(":", 1)[1]
        self.proc = subprocess.Popen([binary, f"--port={port}"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(200):
            try:
                if http("GET", f"{self.url}/status", timeout=2)["value"]["ready"]:
                    return
            except Exception:
                pass
            time.sleep(0.05)
        raise RuntimeError("chromedriver did not become ready")

    def close(self):
        try:
            os.killpg(self.proc.pid, 9)
        except ProcessLookupError:
            pass
        self.proc.wait()


class Session:
    """One browser with a fresh profile."""

    def __init__(self, driver, chrome, work):
        args = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={tempfile.mkdtemp(dir=work)}"]
        caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": chrome, "args": args, "mobileEmulation": {"deviceMetrics": VIEWPORT}}}
        self.base = driver.url
        self.id = http("POST", f"{self.base}/session", {"capabilities": {"alwaysMatch": caps}})["value"]["sessionId"]

    def do(self, method, path, body=None):
        return http(method, f"{self.base}/session/{self.id}{path}", body)["value"]

    def js(self, script, *args):
        return self.do("POST", "/execute/sync", {"script": script, "args": list(args)})

    def element(self, css):
        return next(iter(self.do("POST", "/element", {"using": "css selector", "value": css}).values()))

    def type(self, css, text):
        self.do("POST", f"/element/{self.element(css)}/value", {"text": text})

    def wait(self, condition, timeout=120):
        # Polled back to back: a round trip is a few ms on loopback, the resolution we want.
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.js(f"return !!({condition})"):
                return time.monotonic()
        raise RuntimeError(f"timed out waiting for {condition}: {self.js('return document.body.innerText.slice(0, 500)')}")

    def close(self):
        try:
            self.do("DELETE", "")
        except Exception:
            pass


SIGNED_IN = "!document.querySelector('#app-screen').hidden && document.querySelector('#user-name').textContent !== ''"
LIVE = "!document.querySelector('#app-screen').hidden && document.querySelector('#live-status').textContent === 'Live'"


def pair(driver, chrome, base, user, password, runs, work):
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    for _ in range(int(runs)):
        s = Session(driver, chrome, work)
        try:
            s.do("POST", "/url", {"url": "about:blank"})  # the phone's browser is already running
            url = http("POST", f"{base}/api/v1/pairings", {}, {"authorization": auth})["url"]
            start = time.monotonic()
            s.do("POST", "/url", {"url": url})
            signed_in = s.wait(SIGNED_IN)
            live = s.wait(LIVE)
            # Where it went, from the page's own clock (ms since the navigation began).
            marks = s.js("const n = performance.getEntriesByType('navigation')[0];"
                         "const p = performance.getEntriesByType('resource').find(e => e.name.endsWith('/api/v1/auth/pair'));"
                         "return [n.responseEnd, n.domContentLoadedEventEnd, p ? p.startTime : -1, p ? p.responseEnd : -1]")
            print(f"{(signed_in - start) * 1000:.0f} {(live - start) * 1000:.0f} " + " ".join(f"{m:.0f}" for m in marks), flush=True)
        finally:
            s.close()


def upload(driver, chrome, base, user, password, path, floor_path, work):
    s = Session(driver, chrome, work)
    try:
        s.do("POST", "/url", {"url": f"{base}/app/"})
        s.wait("!document.querySelector('#login-screen').hidden")
        s.type("#login-username", user)
        s.type("#login-password", password)
        s.do("POST", f"/element/{s.element('#login-submit')}/click", {})
        s.wait(LIVE)
        name = os.path.basename(path)
        start = time.monotonic()
        s.type("#file-input", path)
        listed = s.wait(f"document.querySelector('#upload').hidden && [...document.querySelectorAll('#clip-list li .title')].some(e => e.textContent === {json.dumps(name)})")
        request = s.js("const e = performance.getEntriesByType('resource').filter(e => e.name.endsWith('/api/v1/buffer')).pop();"
                       "return e ? e.responseEnd - e.startTime : -1")
        alert = s.js("return document.querySelector('#alert').textContent")
        if alert:
            raise RuntimeError(f"the page says: {alert}")
        floor = -1
        if floor_path:
            # The browser alone: the same kind of request from a bare XMLHttpRequest, no app code.
            s.js("const i = document.createElement('input'); i.type = 'file'; i.id = 'floor-file'; document.body.append(i)")
            s.type("#floor-file", floor_path)
            floor = s.do("POST", "/execute/async", {"args": [], "script": """
                const done = arguments[0], file = document.querySelector('#floor-file').files[0];
                const token = JSON.parse(localStorage.getItem('cb.session')).access_token;
                const xhr = new XMLHttpRequest(), start = performance.now();
                xhr.open('PUT', '/api/v1/buffer');
                xhr.setRequestHeader('authorization', 'Bearer ' + token);
                xhr.setRequestHeader('x-data-type', 'file');
                xhr.setRequestHeader('x-filename', file.name);
                xhr.upload.onprogress = () => {};
                xhr.onload = () => done(xhr.status === 201 ? performance.now() - start : -xhr.status);
                xhr.onerror = () => done(-1);
                xhr.send(file);"""})
            if floor < 0:
                raise RuntimeError(f"the bare upload failed: {floor}")
        print(f"{(listed - start) * 1000:.0f} {request:.0f} {floor:.0f}", flush=True)
    finally:
        s.close()


TEXT_FILE = re.compile(r"\.(?:js|css|webmanifest)$")


def weight(base):
    queue, seen = ["/app/"], set()
    while queue:
        path = queue.pop(0)
        if path in seen:
            continue
        seen.add(path)
        with urllib.request.urlopen(base + path, timeout=60) as response:
            body = response.read()
        request = urllib.request.Request(base + path, headers={"accept-encoding": "gzip"})
        with urllib.request.urlopen(request, timeout=60) as response:
            sent = len(response.read())  # urllib does not decode: these are the bytes on the wire
        packed = len(subprocess.run(["gzip", "-9", "-c"], input=body, capture_output=True, check=True).stdout)
        print(f"{path} {len(body)} {packed} {sent}", flush=True)
        text = body.decode("utf-8", "replace")
        refs = re.findall(r"/app/[\w.-]+", text) + re.findall(r"[\"'](\./[\w.-]+)[\"']", text)
        for ref in refs:
            target = urllib.parse.urlsplit(urllib.parse.urljoin(base + path, ref)).path
            if TEXT_FILE.search(target) and target not in seen:
                queue.append(target)


def main():
    if sys.argv[1] == "weight":
        return weight(sys.argv[2])
    command, driver_bin, chrome, base, user, password, arg = sys.argv[1:8]
    work = tempfile.mkdtemp(prefix="web-driver-", dir=os.environ.get("TMPDIR"))
    driver = Driver(driver_bin)
    try:
        if command == "pair":
            pair(driver, chrome, base, user, password, arg, work)
        elif command == "upload":
            upload(driver, chrome, base, user, password, arg, (sys.argv[8:] or [None])[0], work)
        else:
            raise SystemExit(f"unknown command {command}")
    finally:
        driver.close()
        subprocess.run(["rm", "-rf", work], check=False)


if __name__ == "__main__":
    main()
