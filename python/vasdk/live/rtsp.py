"""RTSP out: starts and stops the relay process (rtsp_relay.py) beside a LiveServer."""

from __future__ import annotations

import os
import select
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

from ..errors import IoError, UnsupportedError
from . import checks

SYSTEM_PYTHON = "/usr/bin/python3"  # Debian's, which has the GObject bindings


class RtspOut:
    """Re-streams every channel of a live view as H.264 over RTSP, encoding only watched ones.

    ``RtspOut(server).start()`` runs the relay on the live server's address (port 0: a free
    one); ``urls()`` maps channel ids to their rtsp:// URLs; ``stop()`` ends the process by its
    PID. On a non-loopback address clients authenticate as user "vasdk" with the live view's
    token as password.
    """

    def __init__(
        self, api_base: str, host: str, token: str, port: int = 0, python: str = SYSTEM_PYTHON
    ) -> None:
        self.api_base = api_base
        self.host = host
        self.port = port
        self._token = token
        self._python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 15.0) -> RtspOut:
        if not Path(self._python).is_file():
            raise UnsupportedError(f"RTSP out needs {self._python} with GStreamer (scripts/setup.sh)")
        script = Path(__file__).with_name("rtsp_relay.py")
        cmd = [
            self._python,
            str(script),
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--api",
            self.api_base,
        ]
        env = dict(os.environ, VASDK_LIVE_TOKEN=self._token)
        if not checks.is_loopback(self.host):
            cmd += ["--user", "vasdk"]
            env["VASDK_RTSP_PASSWORD"] = self._token
        # Its messages go to a file: a pipe nobody reads could fill up and stall the relay.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - open for the process's life; stop() closes it
        self._proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self._log, env=env)
        assert self._proc.stdout is not None
        end = time.monotonic() + timeout
        line = b""
        while time.monotonic() < end and self._proc.poll() is None:
            ready, _, _ = select.select([self._proc.stdout], [], [], 0.1)
            if ready:
                line = self._proc.stdout.readline()
                break
        if not line.startswith(b"rtsp_relay ready "):
            self.stop()
            self._log.seek(0)
            err = self._log.read()[-2000:]
            raise IoError(f"RTSP out did not start: {err.decode(errors='replace').strip() or 'no answer'}")
        self.port = int(line.split()[2])
        return self

    def url(self, channel: str) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        if host in ("0.0.0.0", "[::]"):
            host = "127.0.0.1"
        return f"rtsp://{host}:{self.port}/live/{channel}"

    def stop(self) -> None:
        p, self._proc = self._proc, None
        if p is None:
            return
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)
        if p.stdout is not None:
            p.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None
