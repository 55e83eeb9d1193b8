"""Build the AWS Lambda artifact: the handler, the runtime package and its dependencies as Lambda wheels.

One build serves `make lambda-zip` and `ask deploy` (the ASK CLI runs hooks/build.sh, which runs this).
The zip holds exactly:

- ``lambda_function.py`` (from ``lambda/``), the entry the stack's handler names;
- the ``skill`` package without ``skill/web`` (the Flask stack never runs on Lambda);
- the requirements in ``lambda/requirements.txt``, installed by pip as wheels for the Lambda platform
  (manylinux2014, x86_64, CPython 3.11), never copied from whatever this machine has installed;
  boto3 and botocore are removed afterwards because the Lambda runtime provides them.

Bytecode is compiled only when this interpreter is the target's minor version (the only one whose
bytecode the target can load); otherwise the zip carries source only and the build says so. Every
mismatch stops the build with one line on stderr and a non-zero exit: a requirement with no wheel for
the platform, a runtime in ask-resources.json other than the target, an extension module built for
another platform or Python, or a forbidden package (web stack, test tools, skill_tools) in the zip.

Only the standard library and pip are needed, so the ASK CLI can run it on a fresh clone.
"""
from __future__ import annotations

import argparse
import json
import os
import py_compile
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "lambda" / "requirements.txt"
HANDLER = ROOT / "lambda" / "lambda_function.py"
ASK_RESOURCES = ROOT / "ask-resources.json"
WHEELHOUSE = ROOT / ".venv" / "lambda-wheels"  # downloaded wheels, kept so rebuilds need no network

# The target. The CloudFormation template allows only this runtime and names this architecture; a
# test holds the template, ask-resources.json and these constants together.
PYTHON_VERSION = "3.11"
ARCHITECTURE = "x86_64"
PLATFORM = f"manylinux2014_{ARCHITECTURE}"
RUNTIME = f"python{PYTHON_VERSION}"
_TARGET_TAG = "cp" + PYTHON_VERSION.replace(".", "")
# Extension modules the target interpreter can load: its own ABI tag, or the stable ABI.
_LOADABLE_SO = re.compile(
    rf"(\.cpython-{_TARGET_TAG[2:]}-{ARCHITECTURE}-linux-gnu\.so|\.abi3\.so)$"
)

# The Lambda Python runtime ships these; the artifact must not shadow them with other versions.
PROVIDED_BY_RUNTIME = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
# Never on the Lambda path: the web stack, test tools, developer tools.
FORBIDDEN = frozenset({"flask", "werkzeug", "gunicorn", "pytest", "_pytest", "skill_tools"})
# Inside the runtime package, what only the web service uses.
EXCLUDED_FROM_SKILL = ("skill/web/",)

# A fixed timestamp and mode for every entry, so the same inputs give the same zip, byte for byte
# (the ASK CLI hashes the build to decide whether the code changed).
_ZIP_DATE = (2020, 1, 1, 0, 0, 0)
_ZIP_MODE = 0o644 << 16


class BuildError(Exception):
    """A build that must not produce an artifact; the message is the one line a person reads."""


def target_runtime_from(ask_resources: Path = ASK_RESOURCES) -> str:
    """Return the Lambda runtime ask-resources.json deploys, failing unless it is the build's target."""
    try:
        resources = json.loads(ask_resources.read_text(encoding="utf-8"))
        runtime = resources["profiles"]["default"]["skillInfrastructure"]["userConfig"]["runtime"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise BuildError(f"cannot read skillInfrastructure.userConfig.runtime from {ask_resources}: {exc}") from exc
    if runtime != RUNTIME:
        raise BuildError(
            f"Python version mismatch: {ask_resources.name} deploys runtime {runtime!r} but this build makes "
            f"wheels for {RUNTIME!r} (change PYTHON_VERSION in {Path(__file__).name} and the template together)"
        )
    return runtime


def _pip(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"],
        capture_output=True, text=True, check=False,
    )


def _platform_args() -> list[str]:
    return ["--only-binary=:all:", "--platform", PLATFORM, "--python-version", PYTHON_VERSION,
            "--implementation", "cp", "--abi", _TARGET_TAG]


def _pip_reason(result: subprocess.CompletedProcess[str], where: str) -> str:
    """pip's own one-line reason for a failure, naming the requirement when it can."""
    missing = re.findall(r"No matching distribution found for (\S+)", result.stderr)
    if missing:
        return (f"no wheel for {PLATFORM} / CPython {PYTHON_VERSION} of {', '.join(sorted(set(missing)))} "
                f"{where} (Lambda cannot build from source)")
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("ERROR")]
    return lines[-1] if lines else (result.stderr.strip().splitlines() or ["pip failed"])[-1]


def install_requirements(requirements: Path, target: Path, wheelhouse: Path, *, allow_index: bool = True) -> None:
    """Install the requirements into ``target`` as wheels for the Lambda platform.

    The wheelhouse is tried first with no index, so a rebuild is quick and offline; only what it
    lacks is downloaded (pip download, same platform tags) before installing again from it.
    """
    if _pip(["--version"]).returncode != 0:
        raise BuildError(f"pip is not available to {sys.executable}; install it or run the build with a Python that has it")
    wheelhouse.mkdir(parents=True, exist_ok=True)
    install = ["install", "--target", str(target), "--no-compile", "--no-index", "--find-links", str(wheelhouse),
               "--requirement", str(requirements), *_platform_args()]
    offline = _pip(install)
    if offline.returncode == 0:
        return
    if not allow_index:
        raise BuildError(_pip_reason(offline, f"in {wheelhouse} (offline)"))
    download = _pip(["download", "--dest", str(wheelhouse), "--requirement", str(requirements), *_platform_args()])
    if download.returncode != 0:
        raise BuildError(_pip_reason(download, "on the package index"))
    result = _pip(install)
    if result.returncode != 0:
        raise BuildError(_pip_reason(result, f"in {wheelhouse}"))


def _normal(name: str) -> str:
    """A project or import name compared the way pip compares names: case and -_. do not matter."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _dist_name(dist_info: Path) -> str:
    """The normalised project name of an installed distribution."""
    name = dist_info.name.rsplit("-", 1)[0]
    try:
        for line in (dist_info / "METADATA").read_text(encoding="utf-8").splitlines():
            if line.startswith("Name:"):
                name = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return _normal(name)


def remove_distributions(target: Path, names: Iterable[str]) -> list[str]:
    """Delete the files of the named distributions (as their RECORD lists them); return what went."""
    wanted = {_normal(n) for n in names}
    removed: list[str] = []
    for dist_info in sorted(target.glob("*.dist-info")):
        name = _dist_name(dist_info)
        if name not in wanted:
            continue
        record = dist_info / "RECORD"
        for line in record.read_text(encoding="utf-8").splitlines() if record.exists() else []:
            relative = line.split(",", 1)[0]
            path = (target / relative).resolve()
            if relative and target.resolve() in path.parents and path.is_file():
                path.unlink()
        shutil.rmtree(dist_info, ignore_errors=True)
        removed.append(name)
    # Folders left empty (and their stale __pycache__) go too.
    for folder in sorted((p for p in target.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
        leftovers = [p for p in folder.iterdir() if p.name != "__pycache__"]
        if not leftovers:
            shutil.rmtree(folder)
    return removed


def copy_runtime_package(target: Path) -> None:
    """Copy lambda_function.py and the skill package (without the web stack) into ``target``."""
    shutil.copy2(HANDLER, target / HANDLER.name)
    for path in sorted((ROOT / "skill").rglob("*")):
        relative = path.relative_to(ROOT).as_posix()
        if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        if relative.startswith(EXCLUDED_FROM_SKILL):
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)


def check_contents(target: Path) -> None:
    """Refuse an artifact holding what must not ship, or code the target interpreter cannot load."""
    # Import names at the top level (packages and modules) and the installed distributions' names.
    names = {_normal(p.name.removesuffix(".py")) for p in target.iterdir() if not p.name.endswith(".dist-info")}
    names |= {_normal(_dist_name(d)) for d in target.glob("*.dist-info")}
    found = sorted(names & {_normal(f) for f in FORBIDDEN})
    if found:
        raise BuildError(f"forbidden package in the Lambda artifact: {', '.join(found)} (web stack, test or developer tools)")
    for excluded in EXCLUDED_FROM_SKILL:
        if (target / excluded).exists():
            raise BuildError(f"forbidden package in the Lambda artifact: {excluded.rstrip('/')} (the web service only)")
    shadowing = sorted(names & {_normal(p) for p in PROVIDED_BY_RUNTIME})
    if shadowing:
        raise BuildError(f"{', '.join(shadowing)} would shadow the Lambda runtime's own copy; the build should have removed it")
    foreign = sorted(p.relative_to(target).as_posix() for p in target.rglob("*.so") if not _LOADABLE_SO.search(p.name))
    if foreign:
        raise BuildError(f"extension module built for another platform or Python than {PLATFORM} / CPython "
                         f"{PYTHON_VERSION}: {foreign[0]}" + (f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""))


def _skip(relative: str) -> bool:
    # bin/ holds console scripts pip wrote for this machine; stale bytecode is rebuilt below.
    return relative.startswith("bin/") or "/__pycache__/" in f"/{relative}" or relative.endswith(".pyc")


def write_zip(source: Path, out: Path, *, bytecode: bool) -> int:
    """Zip ``source`` into ``out`` reproducibly; with bytecode, each module gets its .pyc. Return the entry count.

    Lambda's code folder is read-only, so without shipped bytecode every cold start compiles every
    module again. The bytecode is hash-based and unchecked, so unzipping (new mtimes) cannot stale it.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf, tempfile.TemporaryDirectory() as tmp:
        def add(arcname: str, data: bytes) -> None:
            nonlocal count
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.external_attr = _ZIP_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
            count += 1

        for path in sorted(source.rglob("*"), key=lambda p: p.relative_to(source).as_posix()):
            relative = path.relative_to(source).as_posix()
            if not path.is_file() or _skip(relative):
                continue
            add(relative, path.read_bytes())
            if not bytecode or path.suffix != ".py":
                continue
            folder, _, name = relative.rpartition("/")
            cached = f"{folder}/__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/")
            compiled = Path(tmp) / cached
            try:
                py_compile.compile(str(path), cfile=str(compiled), dfile=relative, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except py_compile.PyCompileError:
                continue  # a file that does not compile (a py2-only example in a package) stays source only
            add(cached, compiled.read_bytes())
    partial.replace(out)
    return count


def build(out: Path, *, wheelhouse: Path = WHEELHOUSE, requirements: Path = REQUIREMENTS,
          allow_index: bool = True, say=print) -> Path:  # type: ignore[no-untyped-def]
    """Build the artifact at ``out`` and return it; raise BuildError on any mismatch."""
    target_runtime_from()
    bytecode = sys.version_info[:2] == tuple(int(p) for p in PYTHON_VERSION.split("."))
    with tempfile.TemporaryDirectory(prefix="lambda-build-") as tmp:
        stage = Path(tmp) / "artifact"
        install_requirements(requirements, stage, wheelhouse, allow_index=allow_index)
        removed = remove_distributions(stage, PROVIDED_BY_RUNTIME)
        shutil.rmtree(stage / "bin", ignore_errors=True)
        copy_runtime_package(stage)
        # The content the runtime loads without pydantic: validated and compiled afresh from the TOML,
        # so the artifact never ships a stale compiled form (a ContentError stops the build).
        from skill.content import compile_catalogs

        compile_catalogs(stage / "skill" / "content" / "compiled")
        check_contents(stage)
        entries = write_zip(stage, out, bytecode=bytecode)
    if not bytecode:
        say(f"note: this is Python {sys.version_info[0]}.{sys.version_info[1]}, not {PYTHON_VERSION}: "
            f"the zip ships source only (each cold start compiles it); build with Python {PYTHON_VERSION} for bytecode")
    say(f"wrote {out} ({out.stat().st_size // 1024} KiB, {entries} files, {PLATFORM} / CPython {PYTHON_VERSION}, "
        f"bytecode {'yes' if bytecode else 'no'}; left to the runtime: {', '.join(removed) or 'nothing'})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "dist" / "lambda.zip"), help="where to write the zip")
    parser.add_argument("--wheelhouse", default=os.environ.get("BEDTIME_WHEELHOUSE", str(WHEELHOUSE)),
                        help="folder of downloaded wheels, reused between builds")
    parser.add_argument("--requirements", default=str(REQUIREMENTS), help="the runtime requirements to install")
    parser.add_argument("--offline", action="store_true", help="use only the wheelhouse; never reach the index")
    args = parser.parse_args(argv)
    try:
        build(Path(args.out).resolve(), wheelhouse=Path(args.wheelhouse), requirements=Path(args.requirements),
              allow_index=not args.offline)
    except BuildError as exc:
        print(f"build_lambda_zip: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
