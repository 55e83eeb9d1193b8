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
