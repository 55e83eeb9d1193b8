"""Adding an intent takes three hand-edited places and one command, as the README's "Adding an intent" says.

A copy of the project (a git repository of its own) gains BedtimeStoryIntent the way a maintainer
would add it: a handler in a handler module (registered in that module's `handlers()`), a content
entry with its fact ids, and a sentences file. Then `make model`, and nothing else. Every other file
that changed must be one `.gitattributes` marks as generated, the copy's model must pass the lint, and
the copy's skill must answer the new intent from its generated request fixture.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

HANDLER = '''

class BedtimeStoryHandler(Handler):
    """Serve "tell me a bedtime story": a short one, from what the sources hold."""

    intent = Intent("BedtimeStoryIntent")
    keys = ("story.short",)

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.voice.respond(handler_input, Reply([Line("story.short")], done=True))
'''

CONTENT = '''
[story.short]
title = "A bedtime story"
say = ["Once, a third of a life was spent asleep, and it went well. Good night."]
facts = ["A1"]
'''

SENTENCES = '''samples = [
  "tell me a bedtime story",
  "tell me a story",
  "a bedtime story please",
  "can you tell me a story",
  "i want a bedtime story",
  "read me a story",
  "story time",
  "tell me a sleepy story",
  "do you know any bedtime stories",
  "tell me a story to fall asleep to",
]
'''


def run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's tracked files in a repository of their own, committed as they are."""
    copy = tmp_path_factory.mktemp("project")
    for name in run("git", "ls-files", cwd=ROOT).splitlines():
        source = ROOT / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    run("git", "init", "--quiet", cwd=copy)
    run("git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "add", "--all", cwd=copy)
    run("git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", "commit", "--quiet", "-m", "as is", cwd=copy)
    return copy


def test_a_new_intent_is_three_hand_edited_files_and_make_model(project: Path) -> None:
    # 1. The handler, beside the module's others, and its line in that module's handlers().
    topics = project / "skill" / "handlers" / "topics.py"
    text = topics.read_text(encoding="utf-8")
    text = text.replace("        ExplainHandler(voice),\n", "        ExplainHandler(voice),\n        BedtimeStoryHandler(voice),\n", 1)
    topics.write_text(text + HANDLER, encoding="utf-8")
    # 2. What it says, with its fact id.
    with (project / "skill" / "content" / "en-US" / "why.toml").open("a", encoding="utf-8") as content:
        content.write(CONTENT)
    # 3. What people say to reach it.
    (project / "skill" / "content" / "en-US" / "sentences" / "BedtimeStoryIntent.toml").write_text(SENTENCES, encoding="utf-8")

    # The one command. This environment's interpreter runs it; the copy's own packages come first (cwd).
    stamp = str(ROOT / ".venv" / ".installed")
    run("make", "model", f"BIN={BIN}", f"STAMP={stamp}", "-o", stamp, cwd=project)

    changed = [line[3:] for line in run("git", "status", "--porcelain", "--untracked-files=all", cwd=project).splitlines()]
    attributes = run("git", "check-attr", "linguist-generated", "--", *changed, cwd=project).splitlines()
    generated = {line.split(": ")[0] for line in attributes if line.endswith(": true")}
    hand_edited = sorted(set(changed) - generated)
    assert hand_edited == ["skill/content/en-US/sentences/BedtimeStoryIntent.toml", "skill/content/en-US/why.toml",
                           "skill/handlers/topics.py"]
    assert {"interaction_model/interactionModels/custom/en-US.json", "skill/content/compiled/en-US.json",
            "tests/fixtures/requests/bedtime_story_intent.json"} <= generated

    # The copy's model passes the lint, and its skill answers the new intent from the generated fixture.
    lint = ("from pathlib import Path; from skill_tools.lint import lint; from skill.builder import handled_intents; "
            "print(lint(Path('interaction_model'), handled_intents()))")
    assert run(str(BIN / "python"), "-c", lint, cwd=project).strip() == "[]"
    out = run(str(BIN / "python"), "-m", "skill_tools.cli", "request", "tests/fixtures/requests/bedtime_story_intent.json",
              cwd=project)
    said = json.loads(out)["response"]["outputSpeech"]["ssml"]
    assert "a third of a life was spent asleep" in said
