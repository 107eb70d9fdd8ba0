"""The mock interview: question bank and grading of the user's answers.
May import ``rag.assistant`` and every layer below it (answer, search, corpus, base)."""
