"""The file lock that lets one process do a slow job while others wait, and once_per_run built on it."""
from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest

from skill_tools.locks import exclusive
from tests.conftest import once_per_run


def test_a_lock_held_elsewhere_is_not_waited_for_when_asked_not_to(tmp_path: Path) -> None:
    lock = tmp_path / "job.lock"
    with exclusive(lock) as held:
        assert held
        with exclusive(lock, wait=False) as again:  # another open file: another holder, as another process
            assert not again
    with exclusive(lock, wait=False) as free:
        assert free


def test_a_worker_makes_the_job_nobody_has_started_then_waits_for_the_others(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    names = [f"locks-{uuid.uuid4().hex[:8]}-{n}" for n in ("first", "second")]
    made: list[str] = []
    folder = once_per_run(tmp_path_factory, {})  # nothing to make: where the jobs' folders go
    assert folder == {}
    base = tmp_path_factory.getbasetemp()
    once = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "once"
    started, release = threading.Event(), threading.Event()

    def other_worker() -> None:  # holds the first job's lock, makes it once this worker has made the second
        with exclusive(once / f"{names[0]}.lock"):
            started.set()
            release.wait(timeout=10)
            (once / names[0]).mkdir(parents=True)
            (once / names[0] / "zip").write_text("made by the other worker")
            (once / names[0] / ".made").touch()

    other = threading.Thread(target=other_worker)
    other.start()
    started.wait(timeout=10)

    def make(name: str) -> object:
        def job(folder: Path) -> None:
            made.append(name)
            (folder / "zip").write_text(f"made by {name}")
            release.set()

        return job

    folders = once_per_run(tmp_path_factory, {name: make(name) for name in names})
    other.join(timeout=10)
    assert made == [names[1]], "the second made here, the first waited for"
    assert (folders[names[0]] / "zip").read_text() == "made by the other worker"
    assert (folders[names[1]] / "zip").read_text() == f"made by {names[1]}"
    # Asked again, both are made already: nothing is made twice.
    assert once_per_run(tmp_path_factory, {name: make(name) for name in names}) == folders and made == [names[1]]
