"""Runs `npm start`'s service for end-to-end tests and stops everything it started.

`node scripts/start.mjs --persist-to <tmp> -- --port <free port>` runs in its own
process group; start.mjs puts wrangler (and workerd) in another. Stopping sends
SIGTERM to start.mjs (which stops wrangler), then SIGKILLs every process group
seen in its tree, and waits until none is left.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from typing import List, Optional, Set

from .examples_path import REPO_ROOT

START_TIMEOUT = 120.0


def free_port() -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _processes() -> List[tuple]:
    out = subprocess.run(["ps", "-A", "-o", "pid=,ppid=,pgid=,stat="], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.strip().splitlines():
        pid, ppid, pgid, stat = line.split()[:4]
        rows.append((int(pid), int(ppid), int(pgid), stat))
    return rows


def _tree_groups(root: int) -> Set[int]:
    """Process groups of `root` and its live descendants."""
    rows = _processes()
    found, frontier, groups = {root}, [root], set()
    while frontier:
        pid = frontier.pop()
        for p, pp, g, stat in rows:
            if stat.startswith("Z"):
                continue
            if p == pid:
                groups.add(g)
            if pp == pid and p not in found:
                found.add(p)
                frontier.append(p)
    # Never our own group, whatever happens to the tree.
    groups.discard(os.getpgrp())
    return groups


def _alive_in(groups: Set[int]) -> List[int]:
    return [p for p, _, g, stat in _processes() if g in groups and not stat.startswith("Z")]


class Service:
    """The running service: `base_url`, `api_key`, `output()`, `stop()`."""

    def __init__(self, extra_args: Optional[List[str]] = None) -> None:
        self.port = free_port()
        self.state_dir = tempfile.mkdtemp(prefix="rubric-py-e2e-")
        self._output: List[str] = []
        self.groups: Set[int] = set()
        self.proc = subprocess.Popen(
            ["node", os.path.join("scripts", "start.mjs"), "--persist-to", self.state_dir, "--", "--port", str(self.port), *(extra_args or [])],
            cwd=REPO_ROOT,
            env={**os.environ, "PORT": str(self.port)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.groups.add(self.proc.pid)
        threading.Thread(target=self._pump, daemon=True).start()
        self.base_url, self.api_key = self._wait_ready()
        self.groups |= _tree_groups(self.proc.pid)

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in iter(self.proc.stdout.readline, b""):
            self._output.append(line.decode("utf-8", "replace"))

    def output(self) -> str:
        """Everything start.mjs and wrangler printed so far."""
        return "".join(self._output)

    def _wait_ready(self) -> "tuple[str, str]":
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            text = self.output()
            base = re.search(r"^RUBRIC_BASE_URL=(\S+)$", text, re.M)
            key = re.search(r"^RUBRIC_API_KEY=(\S+)$", text, re.M)
            if base and key:
                return base.group(1), key.group(1)
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"start.mjs did not print RUBRIC_BASE_URL/RUBRIC_API_KEY (exit {self.proc.poll()}):\n{self.output()[-4000:]}")

    def stop(self) -> None:
        """SIGTERM to start.mjs, then SIGKILL to whatever of its process groups is left; removes the state dir."""
        if self.proc.poll() is None:
            self.groups |= _tree_groups(self.proc.pid)
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 10
        while _alive_in(self.groups) and time.monotonic() < deadline:
            for g in self.groups:
                try:
                    os.killpg(g, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        shutil.rmtree(self.state_dir, ignore_errors=True)
