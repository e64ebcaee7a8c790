"""A private virtual X display (Debian `xvfb`) for GUI tests. For `e2e` tests.

    from support.xvfb import xvfb_display

    def test_window(monkeypatch):
        with xvfb_display() as display:
            monkeypatch.setenv("DISPLAY", display)
            ...  # open the window, drive it, take a screenshot

Xvfb picks a free display number itself (-displayfd), so parallel tests never collide. Missing
Xvfb skips the test, except under CI (CI=true), where it fails.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from support.gltf_validator import in_ci

_START_TIMEOUT_S = 30.0


@contextmanager
def xvfb_display(width: int = 1280, height: int = 1024, depth: int = 24) -> Iterator[str]:
    """Start Xvfb, yield its DISPLAY value (":N"), stop it on exit."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        reason = "Xvfb is not installed (Debian package xvfb; make setup installs it)"
        if in_ci():
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    read_fd, write_fd = os.pipe()
    cmd = [xvfb, "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x{depth}"]
    cmd += ["-nolisten", "tcp", "-noreset"]
    proc = subprocess.Popen(
        cmd, pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    os.close(write_fd)
    try:
        number = _read_display_number(read_fd, proc)
        yield f":{number}"
    finally:
        os.close(read_fd)
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stderr is not None:
            proc.stderr.close()


def _read_display_number(read_fd: int, proc: subprocess.Popen[bytes]) -> int:
    """Xvfb writes "N\\n" to the -displayfd pipe once it accepts connections."""
    data = b""
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([read_fd], [], [], _START_TIMEOUT_S)
        chunk = os.read(read_fd, 16) if ready else b""
        if not chunk:
            proc.kill()
            _, err = proc.communicate()
            raise RuntimeError(f"Xvfb did not start: {err.decode(errors='replace').strip()}")
        data += chunk
    return int(data)
