"""A real system for browser tests: Daphne and the poller on a fresh database."""

import os
import secrets
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, process, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with code {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


class LiveSystem:
    def __init__(self, base_url, passwords, env):
        self.base_url = base_url
        self.passwords = passwords
        self.env = env

    def manage(self, *args):
        return subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env,
            check=True, capture_output=True, text=True, timeout=120,
        )


@pytest.fixture(scope="session")
def live_system(tmp_path_factory):
    folder = tmp_path_factory.mktemp("live")
    port = free_port()
    passwords = {"demo": secrets.token_urlsafe(10), "admin": secrets.token_urlsafe(10)}
    env = {
        **os.environ,
        "VAR_DIR": str(folder),
        "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
        "REDIS_URL": settings.REDIS_URL,
        "REDIS_PREFIX": f"e2e-{uuid.uuid4().hex[:8]}",
        "DEMO_PASSWORD": passwords["demo"],
        "ADMIN_PASSWORD": passwords["admin"],
        "POLLER_INTERVAL": "0.5",
        # Every browser test signs in from 127.0.0.1.
        "LOGIN_RATE_LIMIT": "1000/min",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    system = LiveSystem(f"http://127.0.0.1:{port}", passwords, env)
    system.manage("migrate", "--noinput")
    system.manage("setup_demo")

    logs = open(folder / "servers.log", "w")
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "project.asgi:application"],
            cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT,
        ),
        subprocess.Popen(
            [sys.executable, "manage.py", "run_poller"], cwd=ROOT, env=env, stdout=logs, stderr=subprocess.STDOUT,
        ),
    ]
    try:
        wait_for_port(port, processes[0])
        yield system
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        logs.close()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM_PATH).exists():
        pytest.fail(f"Chromium is missing at {CHROMIUM_PATH}; install Debian's chromium package")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def log_in(page, system, username):
    page.goto(f"{system.base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", system.passwords[username])
    page.click("button[type=submit]")
    page.wait_for_url(f"{system.base_url}/dashboard/")
