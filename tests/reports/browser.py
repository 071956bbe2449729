"""A minimal headless-Chromium driver over the DevTools protocol (aiohttp websocket, no extra deps).

Used by the HTML tests and by bench/report_scale.py. It starts Debian's ``chromium`` with a
throw-away profile and ``--remote-debugging-port=0``, reads the chosen port from the
``DevToolsActivePort`` file, opens a page target and exchanges CDP messages. Console messages,
uncaught exceptions, CSP violations (``Log.entryAdded``) and JavaScript dialogs (an ``alert``
from injected script) are collected so tests can assert there were none.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--remote-debugging-port=0",
    "--window-size=1400,1000",
]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """``async with Browser() as b: page = await b.page(url)``; one Chromium process per instance."""

    def __init__(self, executable: str | None = None) -> None:
        self.executable = executable or chromium_path()
        if not self.executable:
            raise RuntimeError("chromium is not installed (apt-get install -y chromium)")
        # Chromium's helper processes may still write to the profile for a moment after the
        # browser exits, so a failed cleanup must not fail the test that used it.
        self._profile = tempfile.TemporaryDirectory(prefix="kvaudit-chromium-", ignore_cleanup_errors=True)
        self._proc: subprocess.Popen[bytes] | None = None
        self._session: aiohttp.ClientSession | None = None
        self.port = 0

    async def __aenter__(self) -> Browser:
        self._proc = subprocess.Popen(
            [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        active = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (active.exists() and active.read_text().strip()):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            await asyncio.sleep(0.05)
        self.port = int(active.read_text().split()[0])
        self._session = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session:
            await self._session.close()
        if self._proc and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._profile.cleanup()

    async def page(self) -> Page:
        assert self._session is not None
        async with self._session.put(f"http://127.0.0.1:{self.port}/json/new?about:blank") as response:
            target = await response.json()
        ws = await self._session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)
        page.start()
        for domain in ("Page", "Runtime", "Log"):
            await page.send(f"{domain}.enable")
        return page


class Page:
    """One tab: send CDP commands, wait for events, collect problems."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self._next = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._waiters: dict[str, list[asyncio.Future[Any]]] = {}
        self.console: list[dict[str, Any]] = []
        self.exceptions: list[dict[str, Any]] = []
        self.log_entries: list[dict[str, Any]] = []
        self.dialogs: list[str] = []
        self._reader: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            data = json.loads(message.data)
            if "id" in data:
                future = self._pending.pop(data["id"], None)
                if future and not future.done():
                    if "error" in data:
                        future.set_exception(RuntimeError(f"CDP error: {data['error']}"))
                    else:
                        future.set_result(data.get("result", {}))
                continue
            method, params = data.get("method"), data.get("params", {})
            if method == "Runtime.consoleAPICalled":
                self.console.append(params)
            elif method == "Runtime.exceptionThrown":
                self.exceptions.append(params)
            elif method == "Log.entryAdded":
                self.log_entries.append(params["entry"])
            elif method == "Page.javascriptDialogOpening":
                self.dialogs.append(params.get("message", ""))
                asyncio.get_running_loop().create_task(self.send("Page.handleJavaScriptDialog", accept=True))
            for waiter in self._waiters.pop(method, []):
                if not waiter.done():
                    waiter.set_result(params)

    async def send(self, method: str, **params: Any) -> Any:
        self._next += 1
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[self._next] = future
        await self.ws.send_str(json.dumps({"id": self._next, "method": method, "params": params}))
        return await asyncio.wait_for(future, timeout=120)

    async def navigate(self, url: str) -> float:
        """Load ``url`` and wait for the load event; returns seconds until then."""
        loaded: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiters.setdefault("Page.loadEventFired", []).append(loaded)
        started = time.perf_counter()
        await self.send("Page.navigate", url=url)
        await asyncio.wait_for(loaded, timeout=120)
        return time.perf_counter() - started

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self, path: Path, full_page: bool = False) -> None:
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            metrics = await self.send("Page.getLayoutMetrics")
            size = metrics["cssContentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], 6000), "scale": 1}
        result = await self.send("Page.captureScreenshot", **params)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(result["data"]))

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions, browser log errors (CSP), dialogs."""
        found = [
            f"console.{c['type']}: {[a.get('value', a.get('description')) for a in c.get('args', [])]}"
            for c in self.console
            if c["type"] in ("error", "warning", "assert")
        ]
        found += [f"exception: {e['exceptionDetails'].get('text')}" for e in self.exceptions]
        found += [f"log {e['level']}: {e['text']}" for e in self.log_entries if e["level"] in ("error", "warning")]
        found += [f"dialog: {d}" for d in self.dialogs]
        return found

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        await self.ws.close()
