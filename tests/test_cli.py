"""The command line: replay a request, refuse unsafe serving, explain bad settings."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from skill_tools.cli import is_loopback, main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "requests"


def test_request_replays_a_fixture(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert main(["request", str(FIXTURES / "time_to_work_intent.json")], out=out) == 0
    assert "2 to 4 weeks" in json.loads(out.getvalue())["response"]["outputSpeech"]["ssml"]


def test_request_says_what_is_wrong_with_a_bad_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    assert main(["request", str(bad)]) == 2
    assert "missing request.type" in capsys.readouterr().err
    assert main(["request", str(tmp_path / "absent.json")]) == 2


def test_serve_refuses_a_public_address_while_verification_is_off(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BEDTIME_VERIFY_SIGNATURE", "false")
    assert main(["serve", "--host", "0.0.0.0"]) == 2
    assert "refusing" in capsys.readouterr().err


def test_bad_settings_are_named_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEDTIME_PERSISTENCE", "floppy")
    monkeypatch.setenv("BEDTIME_TIMESTAMP_TOLERANCE", "-3")
    with pytest.raises(SystemExit) as exc:
        main(["serve"])
    message = str(exc.value)
    assert "BEDTIME_PERSISTENCE" in message and "BEDTIME_TIMESTAMP_TOLERANCE" in message


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1")


# --- safe by default ---------------------------------------------------------------------------


@pytest.fixture
def verifying(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Verification on, no skill id, nothing accepted by default: what a fresh deployment gets."""
    for name in ("BEDTIME_SKILL_ID", "BEDTIME_ACCEPT_ANY_SKILL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("BEDTIME_VERIFY_SIGNATURE", "true")
    return monkeypatch


def test_serve_with_verification_refuses_to_start_without_a_skill_id(
    verifying: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert "BEDTIME_SKILL_ID" in err and "BEDTIME_ACCEPT_ANY_SKILL" in err


@pytest.mark.parametrize("verify", ["true", "false"])
@pytest.mark.parametrize("host", ["0.0.0.0", "10.0.0.1", "::"])
def test_serve_dev_refuses_any_address_but_loopback(
    verifying: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], host: str, verify: str
) -> None:
    # With a skill id and verification on, everything else is in order: only the address is wrong.
    verifying.setenv("BEDTIME_SKILL_ID", "amzn1.ask.skill.test")
    verifying.setenv("BEDTIME_VERIFY_SIGNATURE", verify)
    assert main(["serve", "--dev", "--host", host, "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert "refusing --dev" in err


def test_serve_accepting_any_skill_starts_and_warns_loudly(tmp_path: Path) -> None:
    """The explicit opt-out really serves, and says at start that any skill's requests will be answered."""
    import os
    import subprocess
    import sys
    import time

    from skill_tools.loadtest import _healthy, _stop, free_port

    root = Path(__file__).resolve().parent.parent
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BEDTIME_")} | {
        "PYTHONPATH": str(root),
        "BEDTIME_VERIFY_SIGNATURE": "true",
        "BEDTIME_ACCEPT_ANY_SKILL": "true",
        "BEDTIME_PERSISTENCE": "none",
    }
    log_path = tmp_path / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "skill_tools.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    try:
        for _ in range(300):
            if _healthy(port) or process.poll() is not None:
                break
            time.sleep(0.1)
        assert _healthy(port), log_path.read_text()
    finally:
        _stop(process)
    warnings = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    loud = [w for w in warnings if w["level"] == "WARNING" and "ANY skill" in w["msg"]]
    assert len(loud) == 1


def test_the_core_install_is_the_runtime_and_each_tool_names_its_extra(monkeypatch: pytest.MonkeyPatch,
                                                                       capsys: pytest.CaptureFixture[str]) -> None:
    import tomllib

    from skill_tools import cli

    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    core = {dep.split(">")[0].split("=")[0].split("[")[0].strip().lower() for dep in project["dependencies"]}
    assert not core & {"scikit-learn", "jellyfish", "flask", "gevent", "gunicorn", "boto3"}, core

    # `bedtime-skill ask` on a core install: the resolver's stack is missing; one line names the extra.
    def without_the_tools(args: object, out: object) -> int:
        raise ModuleNotFoundError("No module named 'sklearn'", name="sklearn")

    monkeypatch.setattr(cli, "cmd_ask", without_the_tools)
    assert cli.main(["ask", "hello"]) == 2
    assert "pip install 'bedtime-magnesium-skill[tools]'" in capsys.readouterr().err
