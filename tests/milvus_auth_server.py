"""A Milvus Lite gRPC server that checks the login the way a Milvus server with
authentication enabled does: a request without the right ``authorization`` metadata
(base64 of the token) is aborted with ``UNAUTHENTICATED``.  Milvus Lite itself has no
authentication, so this is how the tests exercise a wrong token."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from concurrent import futures
from contextlib import contextmanager
from pathlib import Path

import grpc


class _TokenCheck(grpc.ServerInterceptor):
    def __init__(self, token: str):
        self.expected = base64.b64encode(token.encode()).decode()

    def intercept_service(self, continuation, details):
        if dict(details.invocation_metadata).get("authorization") == self.expected:
            return continuation(details)

        def deny(request, context):
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "auth check failure, please "
                          "check username, password or API key are correct")

        return grpc.unary_unary_rpc_method_handler(deny)


@contextmanager
def auth_server(data_dir: Path, token: str) -> Iterator[str]:
    """A server on a free loopback port; yields its URI."""
    from milvus_lite.adapter.grpc.servicer import MilvusServicer
    from milvus_lite.db import MilvusLite
    from pymilvus.grpc_gen import milvus_pb2_grpc

    db = MilvusLite(str(data_dir))
    server = grpc.server(futures.ThreadPoolExecutor(4), interceptors=[_TokenCheck(token)])
    milvus_pb2_grpc.add_MilvusServiceServicer_to_server(MilvusServicer(db), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop(grace=0)
        db.close()
