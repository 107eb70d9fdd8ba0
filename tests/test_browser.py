"""End to end in a real browser: Playwright driving Debian's chromium.

Playwright's own browser download does not work on these machines, so the test
uses /usr/bin/chromium (``scripts/ci_deps.sh`` installs it) and FAILS, with a
clear message, when it is missing."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from rag.settings import REPO_ROOT

pytestmark = pytest.mark.browser

sys.path.insert(0, str(REPO_ROOT / "scripts"))
from screenshots import (  # noqa: E402 - the same browser steps as the README screenshots
    BOT_MESSAGES,
    CHROMIUM,
    CHROMIUM_ARGS,
    DONE,
    GOOD_ANSWER,
    chat_round,
    interview_round,
)


@pytest.fixture(scope="module")
def page(app_url):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium "
                    "(sudo apt-get install -y chromium, or bash scripts/ci_deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 1000})
        page.goto(app_url)
        page.wait_for_selector("#question textarea", timeout=60_000)
        yield page
        browser.close()


def test_chat_answer_marker_and_evidence_in_the_browser(page, tmp_path):
    chat_round(page, "When would you use LoRA over full fine-tuning?")
    bot = page.locator(BOT_MESSAGES).last
    assert "[1]" in bot.inner_text()
    first = page.locator("#evidence details[data-n='1']")
    assert first.count() == 1
    assert first.get_attribute("open") is not None  # cited passages start open
    assert "[1]" in first.locator("summary").inner_text()
    assert page.locator("#evidence mark").count() >= 1  # the used sentence is highlighted
    assert "LoRA" in page.locator("#related").inner_text()
    shot = tmp_path / "chat.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000


def test_followup_in_the_browser(page):
    chat_round(page, "and what are its limitations?")
    assert "LoRA" in page.locator("#answer-footer").inner_text()
    assert "LoRA" in page.locator("#evidence details[data-n='1']").inner_text()


def test_clicking_an_example_asks_it(page):
    before = page.locator(BOT_MESSAGES).count()
    page.get_by_text("DPO vs RLHF?", exact=True).click()
    page.wait_for_function(DONE, arg=before, timeout=60_000)
    assert page.locator("#chatbot [data-testid='user']").last.inner_text().strip() == (
        "DPO vs RLHF?")
    assert "[1]" in page.locator(BOT_MESSAGES).last.inner_text()


def test_one_interview_round_in_the_browser(page, tmp_path):
    interview_round(page, "efficiency", GOOD_ANSWER)
    result = page.locator("#grade-result").inner_text()
    assert re.search(r"\d+\.\d\s*/10", result)
    assert "key points covered" in result
    assert page.locator("#grade-result .kp-cite").count() >= 1  # points carry [n]
    assert "Graded offline" in result and "next review" in result
    page.get_by_role("tab", name="Progress").click()
    page.wait_for_selector("#progress-summary .tile", timeout=30_000)
    assert "Reviewed today" in page.locator("#progress-summary").inner_text()
    assert "efficiency" in page.locator("#recent").inner_text()
    shot = tmp_path / "interview.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
