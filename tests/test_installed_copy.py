"""An installed copy (a wheel, not the checkout), run from another folder, finds its own skill package.

The wheel is built and installed without dependencies into a folder of its own; a bare interpreter
(`-S`: no site hooks, so the checkout's editable install is out of reach) runs the CLI from a temp
folder with that copy first on its path and this environment's dependencies after it.
"""
from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

RUN = """
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from skill_tools.cli import main
import skill_tools
assert sys.argv[1] in skill_tools.__file__, skill_tools.__file__  # the installed copy, not the checkout
sys.exit(main(sys.argv[3:]))
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wheels = tmp_path_factory.mktemp("wheel")
    target = tmp_path_factory.mktemp("installed")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--wheel-dir", str(wheels), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    wheel = next(wheels.glob("*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)
    return target


def cli(installed: Path, cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    site = sysconfig.get_paths()["purelib"]
    return subprocess.run([sys.executable, "-S", "-c", RUN, str(installed), site, *args], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})


def test_lint_finds_the_installed_skill_package(installed: Path, tmp_path: Path) -> None:
    done = cli(installed, tmp_path, "lint")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("skill_package: ok")


def test_ask_and_chat_work_from_another_folder(installed: Path, tmp_path: Path) -> None:
    asked = cli(installed, tmp_path, "ask", "i'm pregnant how much magnesium should i take")
    assert asked.returncode == 0, asked.stderr
    assert "intent: DoseIntent" in asked.stdout and "doctor" in asked.stdout and "milligrams a day" not in asked.stdout
    chatted = cli(installed, tmp_path, "chat", stdin="start my wind down\nten thirty\n")
    assert chatted.returncode == 0, chatted.stderr
    assert "[SetBedtimeIntent 1.00] time: 10:30" in chatted.stdout
