"""Interview-prep research assistant: cited answers over an AI reading list.

    from rag import Assistant
    a = Assistant.load()
    ans = a.ask("Why divide attention scores by sqrt(d_k)?")
"""

from rag.assistant import Assistant
from rag.errors import RagError
from rag.records import Answer, Chunk, Citation, Hit
from rag.settings import Settings, load_settings

__all__ = ["Answer", "Assistant", "Chunk", "Citation", "Hit", "RagError", "Settings",
           "load_settings"]
