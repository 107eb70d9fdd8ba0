"""Check, in a child process, that llama.cpp can generate with a GGUF model here.

llama.cpp is native code: on some CPUs a build of it crashes in ``llama_decode``
(seen in this project: a native build on a host with AMX segfaulted at the first
token, and a portable build segfaulted on a CI host).  In-process, such a crash
kills the whole app or test run with no message.  ``crash_reason`` loads the model
and generates two tokens from a prompt longer than one batch in a child Python
process, with the settings the backend will use; a child killed by a signal means
the in-process backend must not be used, and the caller falls back with that reason.
A child that fails in an ordinary way (missing file, bad GGUF) is not reported here:
loading in-process raises the same error as a clear exception.

Results are cached per process and model settings, so the probe costs one model load
(about a second for the bundled 270M model) the first time a backend loads.
"""

from __future__ import annotations

import platform
import signal
import subprocess
import sys
import threading

_PROBE = """
import sys
from llama_cpp import Llama
path, n_ctx, chat_format, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
kw = {"n_threads": threads, "n_threads_batch": threads} if threads else {}
llm = Llama(model_path=path, n_ctx=n_ctx, verbose=False, chat_format=chat_format or None, **kw)
text = " ".join(["Scaled dot-product attention divides scores by the root of d_k."] * (n_ctx // 40))
for _ in llm.create_chat_completion([{"role": "user", "content": text}], max_tokens=2,
                                    stream=True, temperature=0.0):
    pass
"""
TIMEOUT_S = 300
_cache: dict[tuple, str | None] = {}
_lock = threading.Lock()


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo where there is one)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def describe(returncode: int) -> str | None:
    """The crash a child's return code shows (killed by a signal), or None."""
    if returncode >= 0:
        return None
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = f"signal {-returncode}"
    return (f"llama.cpp crashed ({name}) generating with this model on this machine "
            f"({cpu_name()}); rebuild llama-cpp-python for this CPU")


def crash_reason(path: str, n_ctx: int, chat_format: str | None, n_threads: int | None,
                 timeout_s: float = TIMEOUT_S) -> str | None:
    """Why llama.cpp cannot be used in-process with this model here, or None if a test
    generation in a child process went through (or failed without crashing)."""
    key = (path, n_ctx, chat_format, n_threads)
    with _lock:
        if key not in _cache:
            _cache[key] = _run(path, n_ctx, chat_format, n_threads, timeout_s)
        return _cache[key]


def forget() -> None:
    """Drop the cached verdicts (after llama-cpp-python was rebuilt)."""
    with _lock:
        _cache.clear()


def _run(path: str, n_ctx: int, chat_format: str | None, n_threads: int | None,
         timeout_s: float) -> str | None:
    cmd = [sys.executable, "-c", _PROBE, path, str(max(n_ctx, 64)), chat_format or "",
           str(n_threads or 0)]
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return f"llama.cpp did not finish a two-token test generation in {timeout_s:.0f} s"
    except OSError:
        return None  # no child process possible: the in-process load decides
    return describe(done.returncode)
