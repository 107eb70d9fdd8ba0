"""Interview-prep research assistant: cited answers over an AI reading list.

    from rag import Assistant
    a = Assistant.load()
    ans = a.ask("Why divide attention scores by sqrt(d_k)?")
"""

from typing import TYPE_CHECKING

from rag.errors import RagError
from rag.records import Answer, Chunk, Citation, Hit
from rag.settings import Settings, load_settings

if TYPE_CHECKING:
    from rag.assistant import Assistant

__all__ = ["Answer", "Assistant", "Chunk", "Citation", "Hit", "RagError", "Settings",
           "load_settings"]


def __getattr__(name: str):
    """``rag.Assistant`` is imported on first use: ``import rag`` stays light (a CLI
    that only parses arguments or talks to a running server never loads numpy/faiss)."""
    if name == "Assistant":
        from rag.assistant import Assistant

        return Assistant
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
