"""Talking to Milvus: connecting within a timeout, turning failures into clear messages
(never leaking the token), and the names and schemas of the collections a build writes.

One build ``B`` under prefix ``P`` is three collections, switched in together by one
alias::

    P                -> P_B_meta       (alias: the build being served)
    P_B_meta         manifest, paper cards, other build files
    P_B_chunks       one row per passage: record, BM25 text (built-in BM25 function), vector
    P_B_sentences    one row per answer sentence: record (text, role, facet...), vector

The store uses ``pymilvus`` directly rather than llama-index's ``MilvusVectorStore``
(README, "Milvus store", says why: per-retriever ranks and BM25 scores, aliases, three
collections per build, rows read by position).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from rag.errors import StoreUnavailable
from rag.settings import Settings

SCHEMA_VERSION = 1  # bump when the collections' fields change: old builds are refused
BM25_PARAMS = {"bm25_k1": 1.5, "bm25_b": 0.75}  # as bm25s' default ("lucene") scoring
ANALYZER = {"tokenizer": "standard"}  # the text is already our own stemmed tokens
VARCHAR_MAX = 65_535
BLOB_PART = 60_000  # characters of a meta value per row (VARCHAR holds 65,535 bytes)
AUTH_HELP = "check RAG_MILVUS__TOKEN ('user:password' or an API key)"
# pymilvus pings idle connections every 10 s; Milvus Lite's gRPC server (Python's
# defaults) answers pings more often than every 5 minutes with GOAWAY "too_many_pings",
# after which new requests fail.  Ping only during calls longer than 5 minutes; a dead
# server is still noticed within RAG_MILVUS__TIMEOUT_S, the deadline of every call.
GRPC_OPTIONS = {"grpc.keepalive_time_ms": 300_000, "grpc.keepalive_permit_without_calls": False}


@dataclass(frozen=True)
class Names:
    """Collection names of one build under one prefix."""

    prefix: str
    build: str

    @property
    def meta(self) -> str:
        return f"{self.prefix}_{self.build}_meta"

    @property
    def chunks(self) -> str:
        return f"{self.prefix}_{self.build}_chunks"

    @property
    def sentences(self) -> str:
        return f"{self.prefix}_{self.build}_sentences"

    def all(self) -> tuple[str, str, str]:
        return (self.meta, self.chunks, self.sentences)

    @classmethod
    def of_meta(cls, prefix: str, meta_collection: str) -> Names:
        build = meta_collection.removeprefix(prefix + "_").removesuffix("_meta")
        return cls(prefix, build)


def redact_uri(uri: str) -> str:
    """The URI with any password replaced by ``***`` (safe to print)."""
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def is_local(uri: str) -> bool:
    return uri.endswith(".db") and "://" not in uri


def check_uri(uri: str) -> None:
    if not (is_local(uri) or re.match(r"^(https?|tcp|grpc)://[^/\s]+", uri)):
        raise StoreUnavailable(
            f"RAG_MILVUS__URI={redact_uri(uri)!r} is neither a Milvus Lite folder (a path "
            "ending in .db) nor a server address such as http://127.0.0.1:19530")


def scrub(text: str, settings: Settings) -> str:
    """``text`` with the token (and a password in the URI) removed."""
    secret = settings.milvus.token.get_secret_value()
    for value in {secret, *secret.split(":", 1)[1:], urlsplit(settings.milvus_uri).password}:
        if value:
            text = text.replace(value, "***")
    return text


def _is_auth_failure(exc: BaseException) -> bool:
    import grpc

    for err in (exc, exc.__cause__, exc.__context__):
        if isinstance(err, grpc.RpcError) and err.code() == grpc.StatusCode.UNAUTHENTICATED:
            return True
        code = getattr(err, "code", None)
        if code in (1800, 1801):  # Milvus: not authenticated / wrong password
            return True
        if err is not None and re.search(r"auth(entication)? (check )?fail|not authenticated|"
                                         r"incorrect password|invalid token", str(err), re.I):
            return True
    return False


def _is_unreachable(exc: BaseException) -> bool:
    import grpc

    unreachable = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    for err in (exc, exc.__cause__, exc.__context__):
        if isinstance(err, grpc.RpcError) and err.code() in unreachable:
            return True
        if getattr(err, "code", None) in (1, 2) or isinstance(err, TimeoutError | OSError):
            return True  # pymilvus: unexpected/connect failed
        if err is not None and re.search(r"unavailable|timeout|timed out|deadline|connect",
                                         str(err), re.I):
            return True
    return False


def _lite_locked(path: str) -> bool:
    """Whether another process holds the Milvus Lite folder's lock."""
    from pathlib import Path

    from rag.search.locks import held

    return held(Path(path) / "LOCK", busy=OSError)


def store_error(exc: BaseException, settings: Settings, action: str) -> StoreUnavailable:
    """A one-line message saying what failed and how to fix it; never the token."""
    from pymilvus.exceptions import ConnectionConfigException

    uri = settings.milvus_uri
    where = redact_uri(uri)
    if _is_auth_failure(exc):
        return StoreUnavailable(f"Milvus at {where} refused the login while {action}: "
                                f"{AUTH_HELP}")
    if isinstance(exc, ConnectionConfigException) and is_local(uri) and _lite_locked(uri):
        return StoreUnavailable(
            f"cannot open the Milvus Lite folder {where}: another process is using it "
            "(Milvus Lite serves one process). To share one store between processes, run "
            f"`milvus-lite server --data-dir {where} --port 19530` and set "
            "RAG_MILVUS__URI=http://127.0.0.1:19530")
    detail = scrub(getattr(exc, "message", None) or str(exc) or type(exc).__name__, settings)
    detail = " ".join(detail.split())[:300]
    if not _is_unreachable(exc):
        return StoreUnavailable(f"Milvus at {where} failed while {action}: {detail}")
    return StoreUnavailable(
        f"cannot reach Milvus at {where} while {action} (waited at most "
        f"{settings.milvus.timeout_s:g} s: {detail}); start the server or fix "
        "RAG_MILVUS__URI / RAG_MILVUS__TIMEOUT_S")


def connect(settings: Settings):
    """A ``MilvusClient`` for the settings, or ``StoreUnavailable`` within the timeout."""
    check_uri(settings.milvus_uri)
    from pymilvus import MilvusClient

    if is_local(settings.milvus_uri):  # Milvus Lite creates the folder, not its parent
        from pathlib import Path

        Path(settings.milvus_uri).expanduser().parent.mkdir(parents=True, exist_ok=True)
    # pymilvus and milvus-lite log tracebacks of failed calls; our messages say it all.
    for name in ("pymilvus", "milvus_lite"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri=settings.milvus_uri,
                            token=settings.milvus.token.get_secret_value(),
                            timeout=settings.milvus.timeout_s, grpc_options=dict(GRPC_OPTIONS))
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear message
        raise store_error(exc, settings, "connecting") from None


def current_meta(client, settings: Settings) -> str | None:
    """The meta collection the alias points at (None when no build was switched in)."""
    prefix = settings.milvus.collection_prefix
    try:
        aliases = client.list_aliases(timeout=settings.milvus.timeout_s).get("aliases", [])
        if prefix not in aliases:
            return None
        return client.describe_alias(prefix, timeout=settings.milvus.timeout_s)[
            "collection_name"]
    except Exception as exc:  # noqa: BLE001
        raise store_error(exc, settings, "reading the index alias") from None


# --------------------------------------------------------------------------- schemas


def chunk_schema(client, dim: int):
    """Passages: position, id, record (JSON), BM25 text and sparse vector, dense vector."""
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pos", DataType.INT64, is_primary=True)
    schema.add_field("chunk_id", DataType.VARCHAR, max_length=512)
    schema.add_field("record", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("lexical", DataType.VARCHAR, max_length=VARCHAR_MAX,
                     enable_analyzer=True, analyzer_params=ANALYZER)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["lexical"], output_field_names=["sparse"]))
    return schema


def sentence_schema(client, dim: int):
    """Answer sentences: position, passage position, record (the ``sentences.jsonl`` row:
    text, prose, role, facet...), vector."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pos", DataType.INT64, is_primary=True)
    schema.add_field("chunk", DataType.INT64)
    schema.add_field("record", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    return schema


def meta_schema(client):
    """Key/value rows (long values in numbered parts).  Milvus requires a vector field in
    every collection: ``v`` is a constant two-dimensional placeholder."""
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, max_length=512, is_primary=True)
    schema.add_field("value", DataType.VARCHAR, max_length=VARCHAR_MAX)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    return schema


EXPECTED_FIELDS = {
    "chunks": {"pos", "chunk_id", "record", "lexical", "vector", "sparse"},
    "sentences": {"pos", "chunk", "record", "vector"},
}


def schema_problem(client, names: Names, dim: int, timeout: float) -> str:
    """What differs between the stored collections and this code's schema ('' if none)."""
    for kind, expected in EXPECTED_FIELDS.items():
        info = client.describe_collection(getattr(names, kind), timeout=timeout)
        fields = {f["name"]: f for f in info["fields"]}
        if set(fields) != expected:
            return (f"{kind} collection has fields {sorted(fields)}, this version expects "
                    f"{sorted(expected)}")
        stored_dim = fields["vector"].get("params", {}).get("dim")
        if stored_dim is not None and int(stored_dim) != dim:
            return f"{kind} vectors have {stored_dim} dimensions, the embedding model {dim}"
    return ""
