#!/usr/bin/env python3
"""Opens the dashboard of a running hub in headless Chromium through the Chrome DevTools Protocol,
logs in through the form as a person would (types the token, presses Enter), and checks the page:
no console errors or blocked loads, the charts (svg) and the towns table are there, the session
cookie is HttpOnly, Secure and SameSite=Strict. Saves screenshots (screen and print) and a PDF.

Only the Python standard library: a minimal WebSocket client is below. Called by Ops/dashboard-test.

    dashboard-browser.py --port 9222 --url http://127.0.0.1:8080 --token wh_... --out .build/dashboard
"""
import argparse
import base64
import json
import os
import socket
import struct
import sys
import time
import urllib.request


class WebSocket:
    """Just enough of RFC 6455 for the DevTools protocol: text frames, masked from the client."""

    def __init__(self, url, timeout=30):
        assert url.startswith("ws://")
        host_port, path = url[5:].split("/", 1)
        host, port = host_port.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.sock.sendall(request.encode())
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools connection during the handshake")
            response += chunk
        header, self.buffer = response.split(b"\r\n\r\n", 1)
        if b" 101 " not in header.split(b"\r\n")[0]:
            raise RuntimeError(f"DevTools handshake failed: {header[:200]!r}")

    def send(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            head = struct.pack("!BB", 0x81, 0x80 | length)
        elif length < 1 << 16:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, length)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise RuntimeError("the browser closed the DevTools connection")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def receive(self):
        message = b""
        while True:
            first, second = self._read(2)
            opcode, length = first & 0x0F, second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._read(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._read(8))
            payload = self._read(length)
            if opcode == 0x8:
                raise RuntimeError("the browser closed the DevTools connection")
            if opcode in (0x9, 0xA):
                continue
            message += payload
            if first & 0x80:
                return message.decode()


class Page:
    """One page target: commands with ids, events collected on the side."""

    def __init__(self, websocket_url):
        self.ws = WebSocket(websocket_url)
        self.next_id = 0
        self.events = []

    def call(self, method, **params):
        self.next_id += 1
        my_id = self.next_id
        self.ws.send(json.dumps({"id": my_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == my_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                self.events.append(message)

    def wait_for(self, event, timeout=20):
        deadline = time.time() + timeout
        for index, message in enumerate(self.events):
            if message["method"] == event:
                del self.events[index]
                return message
        self.ws.sock.settimeout(max(deadline - time.time(), 0.1))
        while time.time() < deadline:
            message = json.loads(self.ws.receive())
            if message.get("method") == event:
                return message
            if "method" in message:
                self.events.append(message)
        raise RuntimeError(f"timed out waiting for {event}")

    def forget(self, event):
        """Drops events of this kind seen so far, so that the next wait is for a new one."""
        self.events = [message for message in self.events if message["method"] != event]

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluating {expression!r}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def navigate(self, url):
        self.forget("Page.loadEventFired")
        self.call("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")


def problems_in(events):
    """Console errors, uncaught exceptions, blocked or failed loads (CSP violations included)."""
    found = []
    for event in events:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            found.append(f"console {params.get('type')}: {[a.get('value', a.get('description')) for a in params.get('args', [])]}")
        elif method == "Runtime.exceptionThrown":
            found.append(f"exception: {params.get('exceptionDetails', {}).get('text')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            found.append(f"log error ({entry.get('source')}): {entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            found.append(f"load failed: {params.get('errorText')} {params.get('blockedReason', '')}")
    return found


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True, help="Chromium's remote debugging port")
    parser.add_argument("--url", required=True, help="the hub, e.g. http://127.0.0.1:8080")
    parser.add_argument("--token", required=True, help="a stats token")
    parser.add_argument("--out", required=True, help="where the screenshots go")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    request = urllib.request.Request(f"http://127.0.0.1:{args.port}/json/new?about:blank", method="PUT")
    target = json.load(urllib.request.urlopen(request, timeout=10))
    page = Page(target["webSocketDebuggerUrl"])
    for domain in ("Page", "Runtime", "Log", "Network"):
        page.call(f"{domain}.enable")
    page.call("Emulation.setDeviceMetricsOverride", width=1366, height=900, deviceScaleFactor=1, mobile=False)

    failures = []

    def check(condition, message):
        print(("  ok   " if condition else "  FAIL ") + message)
        if not condition:
            failures.append(message)

    # Without a session the dashboard sends the browser to the login form.
    page.navigate(f"{args.url}/dashboard")
    check(page.evaluate("location.pathname") == "/dashboard/login", "without a session, /dashboard leads to the login form")
    check(page.evaluate("document.querySelectorAll('script').length") == 0, "the login form has no script")

    # Log in as a person would: focus the field, type the token, press Enter.
    document = page.call("DOM.getDocument")
    field = page.call("DOM.querySelector", nodeId=document["root"]["nodeId"], selector="#token")
    page.call("DOM.focus", nodeId=field["nodeId"])
    page.call("Input.insertText", text=args.token)
    page.forget("Page.loadEventFired")
    for kind in ("keyDown", "keyUp"):
        page.call("Input.dispatchKeyEvent", type=kind, key="Enter", code="Enter", windowsVirtualKeyCode=13, text="\r" if kind == "keyDown" else "")
    page.wait_for("Page.loadEventFired")
    check(page.evaluate("location.pathname") == "/dashboard", "after logging in, the dashboard shows")

    cookies = page.call("Network.getCookies", urls=[args.url + "/dashboard"])["cookies"]
    session = [c for c in cookies if c["name"] == "waterhub_dashboard"]
    check(len(session) == 1, "the browser holds one session cookie")
    if session:
        cookie = session[0]
        check(cookie["httpOnly"] and cookie["secure"] and cookie.get("sameSite") == "Strict",
              "the cookie is HttpOnly, Secure and SameSite=Strict")
        # The secret is everything after "wh_<id>_" (it may itself hold "_": base64url).
        secret = args.token.split("_", 2)[-1]
        check(len(secret) == 43 and secret not in cookie["value"], "the cookie does not hold the token")

    # What the page shows.
    check(page.evaluate("document.querySelectorAll('svg').length") >= 15, "the charts are there (inline SVG)")
    check(page.evaluate("document.querySelectorAll('#week-table tbody tr').length") == 7, "the towns table has a row per demo town")
    check(page.evaluate("document.querySelectorAll('#week-table td.x').length") > 0, "withheld figures are marked")
    regional = page.evaluate("Array.from(document.querySelectorAll('#month-table td.num:not(.x)')).map(c => c.textContent)")
    check(any(value not in ("0", "") for value in regional or []), f"regional monthly figures show ({len(regional or [])} published)")
    check(page.evaluate("document.querySelectorAll('script, link[rel=stylesheet], img[src^=http], iframe').length") == 0,
          "no script, external style sheet, remote image or frame")
    check(page.evaluate("document.documentElement.lang") == "nl", "the page is Dutch")
    check("Werkwijze" in page.evaluate("document.body.innerText"), "the method is described on the page")

    # Another week through the form (no script: a GET form).
    weeks = page.evaluate("Array.from(document.querySelectorAll('#week-select option')).map(o => o.value)")
    if weeks and len(weeks) > 1:
        page.navigate(f"{args.url}/dashboard?week={weeks[-1]}#week")
        check(f"Week {weeks[-1]} per gemeente" in page.evaluate("document.body.innerText"), f"another week ({weeks[-1]}) can be chosen")
        page.navigate(f"{args.url}/dashboard")

    # Screenshots: the whole page on a laptop screen, and as printed; and a PDF.
    height = int(page.call("Page.getLayoutMetrics")["cssContentSize"]["height"])
    page.call("Emulation.setDeviceMetricsOverride", width=1366, height=min(max(height, 900), 16000), deviceScaleFactor=1, mobile=False)
    shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    with open(os.path.join(args.out, "dashboard.png"), "wb") as file:
        file.write(base64.b64decode(shot["data"]))
    page.call("Emulation.setEmulatedMedia", media="print")
    shot = page.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
    with open(os.path.join(args.out, "dashboard-print.png"), "wb") as file:
        file.write(base64.b64decode(shot["data"]))
    page.call("Emulation.setEmulatedMedia", media="")
    pdf = page.call("Page.printToPDF", printBackground=False, preferCSSPageSize=False)
    with open(os.path.join(args.out, "dashboard.pdf"), "wb") as file:
        file.write(base64.b64decode(pdf["data"]))
    check(os.path.getsize(os.path.join(args.out, "dashboard.png")) > 20_000, f"screenshot saved in {args.out}/dashboard.png")

    # Logging out through the button ends the session.
    document = page.call("DOM.getDocument")
    button = page.call("DOM.querySelector", nodeId=document["root"]["nodeId"], selector="header form button")
    box = page.call("DOM.getBoxModel", nodeId=button["nodeId"])["model"]["content"]
    x, y = (box[0] + box[4]) / 2, (box[1] + box[5]) / 2
    page.call("Emulation.setDeviceMetricsOverride", width=1366, height=900, deviceScaleFactor=1, mobile=False)
    page.call("Page.bringToFront")
    page.forget("Page.loadEventFired")
    for kind in ("mousePressed", "mouseReleased"):
        page.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
    page.wait_for("Page.loadEventFired")
    check(page.evaluate("location.pathname") == "/dashboard/login", "logging out leads back to the login form")
    page.navigate(f"{args.url}/dashboard")
    check(page.evaluate("location.pathname") == "/dashboard/login", "after logging out, the dashboard needs a login again")

    # Drain what is left of the events, then look for errors.
    page.ws.sock.settimeout(0.5)
    try:
        while True:
            message = json.loads(page.ws.receive())
            if "method" in message:
                page.events.append(message)
    except (socket.timeout, TimeoutError):
        pass
    problems = problems_in(page.events)
    for problem in problems:
        print("  " + problem)
    check(not problems, "no console errors, exceptions or blocked loads")

    try:
        page.call("Browser.close")
    except RuntimeError:
        pass
    if failures:
        print(f"dashboard browser test: {len(failures)} check(s) failed", file=sys.stderr)
        sys.exit(1)
    print("dashboard browser test: every check passed")


if __name__ == "__main__":
    main()
