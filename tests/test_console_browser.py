"""The console in a real headless Chromium: type a question, press Enter, read the answer."""
from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from skill.settings import Settings
from skill_tools.console import create_dev_app

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# Where a developer can look at the page after a run; not part of the repository.
SCREENSHOT = Path(os.environ.get("BEDTIME_CONSOLE_SCREENSHOT", "/tmp/console.png"))


@pytest.fixture
def console_url(tmp_path: Path) -> Iterator[str]:
    """The app in local mode, served by a real werkzeug server on a free loopback port."""
    settings = Settings(_env_file=None, verify_signature=False, persistence="sqlite", data_dir=tmp_path,
                        alexa_api=False, seed=7)
    app = create_dev_app(settings, console_secret=b"one secret for this test server")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="console-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_developer_asks_about_the_dose_in_the_browser(console_url: str) -> None:
    if shutil.which("chromium") is None or not Path(CHROMIUM).exists():
        pytest.skip(f"Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        try:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, timeout=15_000)
        except PlaywrightError as exc:
            pytest.skip(f"Playwright could not start Chromium: {exc.message.splitlines()[0]}")
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 760})
            page.set_default_timeout(8_000)
            failures: list[str] = []
            page.on("pageerror", lambda exc: failures.append(f"script error: {exc}"))
            # Anything the page asks of another host (a CDN, a font) is a failure.
            page.on("request", lambda req: None if req.url.startswith((console_url, "data:"))
                    else failures.append(f"outside request: {req.url}"))
            # Chromium logs every 4xx answer; the one refusal below is expected, anything else is not.
            refusals: list[str] = []
            page.on("console", lambda msg: None if msg.type != "error"
                    else refusals.append(msg.text) if "status of 400" in msg.text
                    else failures.append(f"console {msg.type}: {msg.text}"))

            page.goto(console_url)
            expect(page).to_have_title("Bedtime Magnesium · developer console")

            box = page.get_by_label("What you say to the speaker")

            def say(text: str) -> None:
                """Type what a person says and send it, as Enter does."""
                box.fill(text)
                box.press("Enter")

            # U: open bedtime magnesium  (a conversation: complete answers ask what next instead of ending)
            say("open bedtime magnesium")
            expect(page.locator(".turn .intent").last).to_have_text("LaunchRequest")

            # U: how much magnesium should i take  (typed, then Enter)
            say("how much magnesium should i take")

            # A: First, a quick check... (the screening question before a session's first figure)
            answer = page.locator(".turn .answer").last
            expect(answer).to_contain_text("a quick check")
            expect(page.locator(".turn .intent").last).to_have_text("DoseIntent")
            expect(page.locator(".turn .utterance").last).to_have_text("how much magnesium should i take")
            expect(box).to_have_value("")  # cleared, ready for the next thing to say

            # The JSON is there, folded away until asked for.
            details = page.locator(".turn details.json").last
            expect(details.locator("pre.request")).to_contain_text('"DoseIntent"')
            details.locator("summary").click()
            expect(details.locator("pre.response")).to_be_visible()
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)

            # U: no  -> A: ...200 to 400 milligrams a day...
            say("no")
            expect(page.locator(".turn .answer").last).to_contain_text("200 to 400")

            # U: yes  -> the details, in the same skill session: the page sent back its token.
            say("yes")
            expect(page.locator(".turn .answer").last).to_contain_text("600 to 800")
            expect(page.locator(".turn .intent").last).to_have_text("AMAZON.YesIntent")

            # The server restarted (a new secret): the tab's kept token is refused once, dropped,
            # and the turn is sent again as the start of a new conversation.
            page.evaluate("sessionStorage.setItem('bedtime-console-session', 'from.an-earlier.run')")
            page.reload()
            with page.expect_response(lambda r: r.url.endswith("/console/say") and r.status == 400) as refused:
                say("how much magnesium should i take")
            assert refused.value.json()["session"] is None
            expect(page.locator(".turn .answer").last).to_contain_text("a quick check")
            expect(page.locator("#status")).to_contain_text("a new one began")
            assert page.evaluate("sessionStorage.getItem('bedtime-console-session')") not in (None, "from.an-earlier.run")
            assert len(refusals) == 1, refusals

            # New session: the transcript empties and the skill session is closed.
            with page.expect_response(lambda r: r.url.endswith("/console/end")) as ended:
                page.get_by_role("button", name="New session").click()
            assert ended.value.ok and ended.value.json()["ended"] is True
            expect(page.locator(".turn")).to_have_count(0)
            expect(page.locator("#status")).to_contain_text("New session")

            # Market: en-GB. The next conversation is a UK speaker's: the NHS's figure, in a UK request.
            picker = page.get_by_label("Market")
            expect(picker.locator("option")).to_have_count(5)
            picker.select_option("en-GB")
            expect(page.locator("#status")).to_contain_text("Market en-GB")
            say("how much magnesium should i take")
            expect(page.locator(".turn .answer").last).to_contain_text("a quick check")
            say("no")
            expect(page.locator(".turn .answer").last).to_contain_text("NHS")
            expect(page.locator(".turn details.json pre.request").last).to_contain_text('"locale": "en-GB"')

            assert not failures, failures
        finally:
            browser.close()
