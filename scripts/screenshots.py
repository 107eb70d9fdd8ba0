"""Take the README screenshots of both app tabs with Debian's chromium.

    .venv/bin/python scripts/screenshots.py [--out docs]

Starts the real app in-process on a free 127.0.0.1 port, asks a question and a
follow-up in the chat, does mock-interview rounds (a good open answer, a cloze card)
with its progress in a temporary database, and writes ``screenshot-chat.png``,
``screenshot-interview.png``, ``screenshot-cloze.png`` and ``screenshot-progress.png``.
"""

from __future__ import annotations

import argparse
import socket
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
GOOD_ANSWER = (
    "LoRA freezes the pretrained weights and only trains a low-rank update BA added to "
    "some weight matrices, so far fewer parameters and much less GPU memory are needed. "
    "Adapters are small and can be swapped quickly, and quality is about the same as full "
    "fine-tuning. Full fine-tuning updates every weight; it is worth it with lots of data "
    "and compute or when the task is far from pre-training.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def lora_seed(practice) -> int:
    """A seed whose first random "efficiency" open question asks when to use LoRA over
    full fine-tuning (what GOOD_ANSWER answers), else any LoRA question."""
    import random

    fallback = None
    for seed in range(10_000):
        pick = practice.next(None, "random", ["efficiency"], ["open"], [], random.Random(seed))
        question = practice.item(pick.key).question.lower() if pick.key else ""
        if "lora" in question and "full fine-tuning" in question:
            return seed
        if "lora" in question and fallback is None:
            fallback = seed
    return fallback or 0


BOT_MESSAGES = "#chatbot [data-testid='bot']"
DONE = """n => document.querySelectorAll("#chatbot [data-testid='bot']").length > n
  && !document.querySelector('.pending, .generating')
  && (document.querySelector('#answer-footer')?.innerText || '').includes('Answered by')"""


def chat_round(page, question: str) -> None:
    """Ask ``question`` and wait until the answer and its evidence are complete."""
    before = page.locator(BOT_MESSAGES).count()
    page.locator("#question textarea").fill(question)
    page.locator("#send").click()
    page.wait_for_function(DONE, arg=before, timeout=60_000)


def interview_round(page, topic: str, answer: str, kind: str = "Open answer") -> None:
    """One round in Random mode: pick ``topic`` and card type, answer, grade."""
    page.get_by_role("tab", name="Mock interview").click()
    page.locator("#mode").get_by_label("Random").check()
    for label in ("Open answer", "Cloze", "Multiple choice"):
        box = page.locator("#kinds").get_by_label(label)
        box.check() if label == kind else box.uncheck()
    if topic and not page.locator("#topics").get_by_label(topic).is_checked():
        page.locator("#topics").get_by_label(topic).check()
    page.locator("#next-question").click()
    page.wait_for_selector("#interview-question :text('Topic:')", timeout=30_000)
    page.locator("#interview-answer textarea").fill(answer)
    page.locator("#grade").click()
    page.wait_for_selector("#grade-result .grade-score", timeout=60_000)


def assistant_settings():
    from rag.settings import load_settings

    return load_settings()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    import tempfile

    from playwright.sync_api import sync_playwright

    from rag.app import ui
    from rag.assistant import Assistant
    from rag.study.practice import Practice
    from rag.study.stored import study_extra

    assistant = Assistant.load(extras=[study_extra(assistant_settings())])
    db = Path(tempfile.mkdtemp()) / "progress.db"
    practice = Practice.open(assistant, f"sqlite:///{db}")
    demo = ui.build_app(assistant, practice=practice, seed=lora_seed(practice))
    demo.queue(default_concurrency_limit=assistant.settings.app.concurrency)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True,
                quiet=True, **ui.launch_options())
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1440, "height": 1000})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#question textarea", timeout=60_000)
            chat_round(page, "When would you use LoRA over full fine-tuning?")
            chat_round(page, "and what are its limitations?")
            page.screenshot(path=str(args.out / "screenshot-chat.png"), full_page=True)
            interview_round(page, "efficiency", GOOD_ANSWER)
            page.screenshot(path=str(args.out / "screenshot-interview.png"), full_page=True)
            interview_round(page, "", "15%", kind="Cloze")
            page.screenshot(path=str(args.out / "screenshot-cloze.png"), full_page=True)
            page.get_by_role("tab", name="Progress").click()
            page.wait_for_selector("#progress-summary .tile", timeout=30_000)
            page.wait_for_timeout(1500)  # the plot draws
            page.screenshot(path=str(args.out / "screenshot-progress.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
    print(f"wrote screenshot-chat/interview/cloze/progress.png in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
