"""The Gradio app: thin callbacks (``ui``) and the HTML they show (``present``).
May import every layer below it (evaluation, study, assistant, answer, search, corpus, base)."""
