"""The ``rag`` command: bad input gets a clear message and exit code 2; the JSON contract."""

import json
import subprocess
import sys

import pytest

from rag.cli import main
from rag.settings import REPO_ROOT


@pytest.mark.parametrize("question,message", [
    ("", "the question is empty"),
    ("   \n\t ", "the question is empty"),
    ("x" * 100_000, "the question is too long (100,000 characters"),
    ("what is\x07 attention\x1b[31m?", "control characters (U+0007, U+001B)"),
])
def test_bad_questions_exit_2_with_clear_message(question, message, capsys):
    assert main(["ask", question]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_missing_question_and_conflicting_flags(capsys):
    assert main(["ask"]) == 2
    assert "no question given" in capsys.readouterr().err
    assert main(["ask", "--jsonl", "why?"]) == 2
    assert "--jsonl reads questions from stdin" in capsys.readouterr().err


def test_bad_k_and_backend_exit_2(real_assistant, capsys, monkeypatch):
    import rag.cli as cli

    monkeypatch.setattr(cli, "_load", lambda settings, quiet: real_assistant)
    assert main(["ask", "--k", "0", "What is LoRA?"]) == 2
    assert "k must be between 1 and 50" in capsys.readouterr().err
    assert main(["ask", "--backend", "nope", "What is LoRA?"]) == 2
    assert "unknown or unavailable backend 'nope'" in capsys.readouterr().err


def _run(*args, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rag.cli", *args], input=stdin,
                          capture_output=True, cwd=REPO_ROOT, timeout=300)


@pytest.mark.integration
def test_ask_json_contract(real_assistant):
    proc = _run("ask", "--json", "--k", "4", "Why do transformers scale attention by sqrt(d_k)?")
    assert proc.returncode == 0, proc.stderr.decode()
    data = json.loads(proc.stdout)
    assert {"question", "answer", "abstained", "citations", "timings_ms"} <= set(data)
    assert isinstance(data["abstained"], bool) and data["timings_ms"]["total"] > 0
    assert 1 <= len(data["citations"]) <= 4
    for n, cit in enumerate(data["citations"], start=1):
        assert cit["n"] == n
        assert {"n", "doc_id", "title", "section", "url", "text", "score"} <= set(cit)
    listed = {c["n"] for c in data["citations"]}
    markers = {int(m) for m in __import__("re").findall(r"\[(\d+)\]", data["answer"])}
    assert markers and markers <= listed


@pytest.mark.integration
def test_ask_jsonl_loads_once_and_reports_bad_lines(real_assistant):
    stdin = b"What is LoRA?\n\nHow does DPO differ from RLHF?\n\xff\xfe broken\n   \x07\n"
    proc = _run("ask", "--jsonl", stdin=stdin)
    assert proc.returncode == 2  # some lines were rejected
    rows = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [r.get("question") for r in rows[:2]] == ["What is LoRA?",
                                                      "How does DPO differ from RLHF?"]
    assert "not valid UTF-8" in rows[2]["error"]
    assert "control characters" in rows[3]["error"]
    assert "Traceback" not in proc.stderr.decode()


@pytest.mark.integration
def test_readable_output_lists_sources(real_assistant):
    proc = _run("ask", "When would you use LoRA over full fine-tuning?")
    out = proc.stdout.decode()
    assert proc.returncode == 0 and "[1]" in out and "Sources:" in out
    assert "Papers Reading Guide" in out or "arxiv.org/abs/" in out
