"""The HTTP API: /api/ask, /api/health, OpenAI-compatible /v1 routes, security, `rag serve`.
May import every layer below it (evaluation, study, assistant, ...); never its sibling rag.app."""
