"""The real Gradio app on 127.0.0.1, driven through ``gradio_client``.

The app is built exactly as ``app.py`` builds it (``rag.app.ui.build_app`` over the
session's real Assistant) and launched on a free port inside the test."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from rag.settings import REPO_ROOT

pytestmark = pytest.mark.app

LORA = "When would you use LoRA over full fine-tuning?"
GOOD_LORA = ("LoRA freezes the pretrained weights and trains only a small low-rank update, so "
             "it needs far fewer trainable parameters and much less GPU memory. Its quality is "
             "about the same as full fine-tuning, and adapters can be swapped quickly.")


@pytest.fixture
def client(app_url):
    from gradio_client import Client

    return Client(app_url, verbose=False)


def text_of(message: dict) -> str:
    """The text of a chat message as the client returns it (str or content parts)."""
    content = message["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content if isinstance(part, dict))


def ask(client, question: str, history=None, k: int = 5, show_uncited: bool = True):
    return client.predict(question, history or [], k, "extractive", show_uncited,
                          api_name="/ask")


def test_chat_answer_has_marker_and_numbered_evidence(client):
    chat, box, evidence, related, footer = ask(client, LORA)
    assert [m["role"] for m in chat] == ["user", "assistant"]
    assert text_of(chat[0]) == LORA
    assert "[1]" in text_of(chat[1])
    assert re.search(r'<details[^>]*data-n="1"[^>]*open', evidence)
    assert '<span class="ev-n">[1]</span>' in evidence
    assert "Answered by **extractive**" in footer
    assert "arxiv.org/abs/2106.09685" in related  # the LoRA paper
    assert box == ""


def test_followup_uses_the_conversation(client):
    chat, *_ = ask(client, LORA)
    chat, _, evidence, _, footer = ask(client, "and what are its limitations?", chat)
    assert len(chat) == 4 and "[1]" in text_of(chat[3])
    assert "LoRA" in footer  # the rewritten search query carries the earlier topic
    first_block = evidence.split("</details>")[0]
    assert "LoRA" in first_block


def test_fewer_passages_and_hidden_uncited(client):
    _, _, evidence, _, _ = ask(client, "DPO vs RLHF?", k=2, show_uncited=False)
    assert len(re.findall(r"<details", evidence)) <= 2
    assert 'data-n="3"' not in evidence


def test_bad_input_is_a_message_not_a_traceback(client):
    """A rejected question leaves no chat bubble: the message shows in the answer
    details and the text stays in the box to be fixed."""
    chat, box, evidence, _, footer = ask(client, "   ")
    assert chat == []
    assert "question is empty" in footer
    long_q = "why " * 1000
    chat, box, _, _, footer = ask(client, long_q)
    assert chat == [] and "too long" in footer
    assert box == long_q  # the user's text is kept, not lost
    chat, _, _, _, footer = ask(client, "https://arxiv.org/abs/2106.09685")
    assert chat == [] and "only a link" in footer
    chat, _, _, _, footer = ask(client, "?!? ...")
    assert chat == [] and "only symbols" in footer


def test_new_chat_clears(client):
    ask(client, LORA)
    chat, box, evidence, related, footer = client.predict(api_name="/new_chat")
    assert chat == [] and "Ask a question" in evidence and footer == ""


def test_one_mock_interview_round_is_graded_stored_and_scheduled(client):
    out = client.predict("random", ["open"], ["efficiency"], api_name="/next_question")
    question, answer_box, status = out[0], out[1], out[-1]
    assert "Topic: **efficiency**" in question and answer_box == "" and "Saving progress" in status
    grade, model_answer, status = client.predict(GOOD_LORA, "offline", api_name="/grade")
    score = re.search(r'<span class="score">(\d+\.\d)</span>', grade)
    assert score and 0.0 <= float(score.group(1)) <= 10.0
    assert "key points covered" in grade and "Missed" in grade and "Sources" in grade
    assert "Graded offline" in grade and "next review" in grade
    assert "Model answer" in model_answer
    rerated = client.predict(api_name="/rate_easy")
    assert "Re-rated <b>Easy</b>" in rerated
    summary, plot, topics, recent = client.predict(api_name="/progress")
    assert "Reviewed today" in summary
    assert recent["data"][0][2] == "efficiency" and recent["data"][0][6] == "Easy"


def test_cloze_card_round(client):
    question = client.predict("random", ["cloze"], [], api_name="/next_question")[0]
    assert "Fill in the blank" in question and "\\_\\_\\_\\_" in question  # escaped ____
    grade, model_answer, _ = client.predict("no idea at all", "offline", api_name="/grade")
    assert "Not quite: the answer is" in grade and "Source:" in grade


def test_empty_interview_answer_gets_a_message_and_stores_nothing(client):
    client.predict("random", ["open"], ["rag"], api_name="/next_question")
    before = client.predict(api_name="/progress")[3]["data"]
    grade, model_answer, _ = client.predict("", "offline", api_name="/grade")
    assert "your answer is empty" in grade and model_answer == ""
    assert client.predict(api_name="/progress")[3]["data"] == before


def test_grading_before_a_question_is_asked(client):
    grade, _, _ = client.predict("Some answer about attention.", "offline", api_name="/grade")
    assert "Next question" in grade


def test_exports_csv_and_anki(client):
    import csv
    import zipfile

    client.predict("random", ["open"], ["efficiency"], api_name="/next_question")
    client.predict(GOOD_LORA, "offline", api_name="/grade")
    path = client.predict(api_name="/export_csv")
    rows = list(csv.DictReader(open(path, encoding="utf-8")))
    assert rows and {"question", "answer", "score", "rating", "next_review_utc"} <= set(rows[0])
    deck = client.predict(["open"], api_name="/export_anki")
    assert "collection.anki2" in zipfile.ZipFile(deck).namelist()


def test_app_cli_flags():
    out = subprocess.run([sys.executable, "app.py", "--help"], cwd=REPO_ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "--host" in out.stdout and "--port" in out.stdout and "127.0.0.1" in out.stdout


def test_conversation_is_read_from_the_chat(real_assistant):
    from rag.app import present, ui

    chat = [{"role": "user", "content": [{"type": "text", "text": LORA}]},
            {"role": "assistant", "content": "LoRA answer [1]"},
            {"role": "user", "content": "x" * 5000},
            {"role": "assistant", "content": present.error_message("too long")},
            {"role": "user", "content": "and what are its limitations?"},
            {"role": "assistant", "content": "Limits [1]"}]
    asked = ui.asked_questions(chat)
    assert asked == [LORA, "and what are its limitations?"]  # the failed one is left out
    history = ui.standalone_history(real_assistant, asked)
    assert "LoRA" in history[1]  # the follow-up as retrieval saw it
    assert "LoRA" in real_assistant.search_query("What about its memory cost?", history)
