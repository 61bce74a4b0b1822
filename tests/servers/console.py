"""The web console as operators get it: a real `harvest serve` subprocess on a free 127.0.0.1 port, driven by
Debian's Chromium through Playwright.

`HarvestServe` starts the command on the test's store and waits for /healthz (and for each of its processes to
listen). `Browser` launches Chromium once
(Playwright's own browser download cannot work here) and opens contexts whose every request to a host other than
127.0.0.1, ::1 or localhost is aborted and recorded in `refused`, so a test can say nothing else was asked for.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import BrowserContext, Page, Playwright, Route, sync_playwright

from tests.servers.workers import listening_sockets

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync",
                 "--disable-default-apps", "--disable-extensions", "--metrics-recording-only",
                 "--disable-domain-reliability"]
LOOPBACK = {"127.0.0.1", "::1", "[::1]", "localhost"}
STARTUP_TIMEOUT = 30.0
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class HarvestServe:
    """`harvest serve` (`processes` of them) in its own process, with the test's environment and these HARVEST_*
    settings."""

    def __init__(self, log_path: Path, processes: int = 1, **settings: str) -> None:
        self.processes = processes
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = os.environ | {f"HARVEST_{name.upper()}": value for name, value in settings.items()}
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> HarvestServe:
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "harvesters", "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.processes)],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"harvest serve exited: {self.log_path.read_text()}")
            try:
                answered = httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
                if answered and listening_sockets(self.port) >= self.processes:  # every process serving
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"harvest serve did not start: {self.log_path.read_text()}")
            time.sleep(0.1)

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self.log.close()


def is_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or parts.hostname in LOOPBACK


class Browser:
    """Chromium, launched once; `context()` opens a fresh profile that may only reach this machine."""

    def __init__(self) -> None:
        self.playwright: Playwright | None = None
        self.refused: list[str] = []

    def __enter__(self) -> Browser:
        self.playwright = sync_playwright().start()
        self.browser = self.playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        return self

    def __exit__(self, *exc: object) -> None:
        self.browser.close()
        assert self.playwright is not None
        self.playwright.stop()

    def context(self, **options: Any) -> BrowserContext:
        context = self.browser.new_context(viewport=LAPTOP, **options)
        context.set_default_timeout(15_000)

        def guard(route: Route) -> None:
            if is_loopback(route.request.url):
                route.continue_()
            else:
                self.refused.append(route.request.url)
                route.abort("blockedbyclient")

        context.route("**/*", guard)
        return context


def screenshot(page: Page, folder: Path, name: str, phone: bool = False, full: bool = True) -> Path:
    """The page (`full`: all of it, else what the window shows) as a PNG under `folder`, at a phone's width when
    `phone`, to look at."""
    path = folder / f"{name}{'-phone' if phone else ''}.png"
    if phone:
        page.set_viewport_size(PHONE)
    page.screenshot(path=str(path), full_page=full)
    if phone:
        page.set_viewport_size(LAPTOP)
    return path
