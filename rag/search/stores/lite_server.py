"""A Milvus Lite gRPC server in a child process (``milvus-lite server``), for one machine
with several processes sharing one store, and for the tests and benchmarks that need a
server: started on a free loopback port, waited for, stopped and cleaned up.

    with LiteServer(data_dir) as server:
        os.environ["RAG_MILVUS__URI"] = server.uri   # http://127.0.0.1:<port>
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def lite_command() -> list[str]:
    """``milvus-lite`` of this environment (or the module, when the script is missing)."""
    script = Path(sys.executable).parent / "milvus-lite"
    return [str(script)] if script.exists() else [sys.executable, "-m", "milvus_lite"]


class LiteServer:
    """``milvus-lite server --data-dir DIR --host 127.0.0.1 --port P`` as a child process."""

    def __init__(self, data_dir: Path | None = None, port: int | None = None,
                 nice: int = 0, log_path: Path | None = None):
        self._own_dir = data_dir is None
        self.data_dir = Path(data_dir or tempfile.mkdtemp(prefix="milvus-lite-")) / "data.db"
        self.port = port or free_port()
        self.nice = nice
        self.log_path = log_path or Path(tempfile.mkstemp(suffix="-milvus-lite.log")[1])
        self.proc: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> LiteServer:
        cmd = [*lite_command(), "server", "--data-dir", str(self.data_dir),
               "--host", "127.0.0.1", "--port", str(self.port)]
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=(lambda: os.nice(self.nice)) if self.nice else None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited ({self.proc.returncode}):\n"
                                   f"{self.log()[-2000:]}")
            if "listening" in self.log():
                return self
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"milvus-lite server did not start in {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def rss_mb(self, field: str = "VmRSS") -> float:
        """Resident memory of the server process (``VmHWM``: its peak), MiB."""
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        kb = next(line.split()[1] for line in status.splitlines() if line.startswith(field))
        return int(kb) / 1024

    def disk_mb(self) -> float:
        total = sum(p.stat().st_size for p in self.data_dir.rglob("*") if p.is_file())
        return total / 2**20

    def stop(self) -> None:
        """SIGINT (the server closes its data cleanly), then SIGKILL if it hangs."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)

    def cleanup(self) -> None:
        self.stop()
        if self._own_dir:
            shutil.rmtree(self.data_dir.parent, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)

    def __enter__(self) -> LiteServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()
