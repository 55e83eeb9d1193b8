"""Build the AWS Lambda artifact: the handler, the runtime package and its dependencies as Lambda wheels.

One build serves `make lambda-zip` and `ask deploy` (the ASK CLI runs hooks/build.sh, which runs this).
The zip holds exactly:

- ``lambda_function.py`` (from ``lambda/``), the entry the stack's handler names;
- the ``skill`` package without ``skill/web`` (the Flask stack never runs on Lambda);
- the requirements in ``lambda/requirements.txt``, installed by pip as wheels for the Lambda platform
  (manylinux2014 for the stack's architecture, CPython of the stack's runtime: ``--platform``,
  ``--python-version``, ``--implementation cp``, ``--only-binary=:all:``), never copied from whatever
  this machine has installed; boto3 and botocore are removed afterwards because the Lambda runtime
  provides them.

The target is read from ask-resources.json, the file `ask deploy` passes to the stack: the runtime
(``userConfig.runtime``) and the architecture (``cfn.parameters.LambdaArchitecture``, else the
stack's default); ``--arch`` overrides the architecture, to check or run a build for another machine.

Bytecode is compiled by an interpreter of the target's minor version (the only one whose bytecode
the target can load): this one if it is, else one found on this machine (``BEDTIME_TARGET_PYTHON``,
``python3.13`` on PATH, a pyenv version); with none the zip carries source only and the build says
so. Every mismatch stops the build with one line on stderr and a non-zero exit: a requirement with
no wheel for the platform, a runtime in ask-resources.json the build cannot target, an extension
module built for another platform or Python, or a forbidden package (web stack, test tools,
skill_tools) in the zip.

Only the standard library and pip are needed, so the ASK CLI can run it on a fresh clone.
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "lambda" / "requirements.txt"
HANDLER = ROOT / "lambda" / "lambda_function.py"
ASK_RESOURCES = ROOT / "ask-resources.json"
WHEELHOUSE = ROOT / ".venv" / "lambda-wheels"  # downloaded wheels, kept so rebuilds need no network

# The Lambda runtimes the build can target, newest first: the stack allows exactly these and takes
# the first by default (3.12 is the first Python runtime with SnapStart). The architectures, by
# Lambda's name, with the machine name wheels and extension modules use. A test holds the template,
# ask-resources.json and these together.
RUNTIMES = ("python3.13", "python3.12")
ARCHITECTURES = {"x86_64": "x86_64", "arm64": "aarch64"}
DEFAULT_ARCHITECTURE = "arm64"  # every requirement is pure Python or has an aarch64 wheel

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


@dataclass(frozen=True)
class Target:
    """What the zip is built for: a Lambda runtime (a CPython minor version) on one architecture."""

    runtime: str  # "python3.13"
    architecture: str = DEFAULT_ARCHITECTURE  # Lambda's name: "x86_64" or "arm64"

    @property
    def python_version(self) -> str:
        return self.runtime.removeprefix("python")

    @property
    def machine(self) -> str:
        return ARCHITECTURES[self.architecture]

    @property
    def platform(self) -> str:
        return f"manylinux2014_{self.machine}"

    @property
    def abi(self) -> str:
        return "cp" + self.python_version.replace(".", "")

    @property
    def cache_tag(self) -> str:
        return "cpython-" + self.python_version.replace(".", "")

    def loads(self, extension: str) -> bool:
        """True for an extension module file name the target interpreter can load (its ABI, or the stable one)."""
        return extension.endswith((f".{self.cache_tag}-{self.machine}-linux-gnu.so", ".abi3.so"))

    def __str__(self) -> str:
        return f"{self.platform} / CPython {self.python_version}"


def target_from(ask_resources: Path = ASK_RESOURCES, architecture: str | None = None) -> Target:
    """The target ask-resources.json deploys (``architecture`` overrides its architecture); fail on one the build cannot make."""
    try:
        resources = json.loads(ask_resources.read_text(encoding="utf-8"))
        config = resources["profiles"]["default"]["skillInfrastructure"]["userConfig"]
        runtime = config["runtime"]
        parameters = config.get("cfn", {}).get("parameters", {})
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BuildError(f"cannot read skillInfrastructure.userConfig.runtime from {ask_resources}: {exc}") from exc
    if runtime not in RUNTIMES:
        raise BuildError(
            f"Python version mismatch: {ask_resources.name} deploys runtime {runtime!r} but this build makes "
            f"wheels for {' or '.join(repr(r) for r in RUNTIMES)} (the stack allows the same)"
        )
    architecture = architecture or parameters.get("LambdaArchitecture", DEFAULT_ARCHITECTURE)
    if architecture not in ARCHITECTURES:
        raise BuildError(f"architecture {architecture!r} is not a Lambda architecture ({', '.join(ARCHITECTURES)})")
    return Target(runtime, architecture)


def find_python(version: str) -> str | None:
    """An interpreter of CPython ``version`` ("3.13") on this machine, or None.

    In order: this one, ``BEDTIME_TARGET_PYTHON``, ``python3.13`` on PATH (a pyenv shim there may
    refuse to run, so each is asked its version), then pyenv's own versions folder.
    """
    if f"{sys.version_info[0]}.{sys.version_info[1]}" == version and sys.implementation.name == "cpython":
        return sys.executable
    pyenv_root = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    candidates = [os.environ.get("BEDTIME_TARGET_PYTHON"), shutil.which(f"python{version}"),
                  *sorted(glob.glob(f"{pyenv_root}/versions/{version}.*/bin/python{version}"), reverse=True)]
    for candidate in candidates:
        if candidate and _python_version(candidate) == version:
            return candidate
    return None


def _python_version(executable: str) -> str | None:
    try:
        done = subprocess.run([executable, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2], "
                               "sys.implementation.name)"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    version, _, implementation = done.stdout.strip().partition(" ")
    return version if done.returncode == 0 and implementation == "cpython" else None


def _pip(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", *args, "--disable-pip-version-check", "--no-input"],
        capture_output=True, text=True, check=False,
    )


def _platform_args(target: Target) -> list[str]:
    return ["--only-binary=:all:", "--platform", target.platform, "--python-version", target.python_version,
            "--implementation", "cp", "--abi", target.abi]


def _pip_reason(result: subprocess.CompletedProcess[str], where: str, target: Target) -> str:
    """pip's own one-line reason for a failure, naming the requirement when it can."""
    missing = re.findall(r"No matching distribution found for (\S+)", result.stderr)
    if missing:
        return (f"no wheel for {target} of {', '.join(sorted(set(missing)))} "
                f"{where} (Lambda cannot build from source)")
    lines = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("ERROR")]
    return lines[-1] if lines else (result.stderr.strip().splitlines() or ["pip failed"])[-1]


def install_requirements(requirements: Path, stage: Path, wheelhouse: Path, target: Target, *,
                         allow_index: bool = True) -> None:
    """Install the requirements into ``stage`` as wheels for the target's Lambda platform.

    The wheelhouse is tried first with no index, so a rebuild is quick and offline; only what it
    lacks is downloaded (pip download, same platform tags) before installing again from it.
    """
    if _pip(["--version"]).returncode != 0:
        raise BuildError(f"pip is not available to {sys.executable}; install it or run the build with a Python that has it")
    wheelhouse.mkdir(parents=True, exist_ok=True)
    install = ["install", "--target", str(stage), "--no-compile", "--no-index", "--find-links", str(wheelhouse),
               "--requirement", str(requirements), *_platform_args(target)]
    offline = _pip(install)
    if offline.returncode == 0:
        return
    if not allow_index:
        raise BuildError(_pip_reason(offline, f"in {wheelhouse} (offline)", target))
    download = _pip(["download", "--dest", str(wheelhouse), "--requirement", str(requirements),
                     *_platform_args(target)])
    if download.returncode != 0:
        raise BuildError(_pip_reason(download, "on the package index", target))
    result = _pip(install)
    if result.returncode != 0:
        raise BuildError(_pip_reason(result, f"in {wheelhouse}", target))


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


def check_contents(stage: Path, target: Target) -> None:
    """Refuse an artifact holding what must not ship, or code the target interpreter cannot load."""
    # Import names at the top level (packages and modules) and the installed distributions' names.
    names = {_normal(p.name.removesuffix(".py")) for p in stage.iterdir() if not p.name.endswith(".dist-info")}
    names |= {_normal(_dist_name(d)) for d in stage.glob("*.dist-info")}
    found = sorted(names & {_normal(f) for f in FORBIDDEN})
    if found:
        raise BuildError(f"forbidden package in the Lambda artifact: {', '.join(found)} (web stack, test or developer tools)")
    for excluded in EXCLUDED_FROM_SKILL:
        if (stage / excluded).exists():
            raise BuildError(f"forbidden package in the Lambda artifact: {excluded.rstrip('/')} (the web service only)")
    shadowing = sorted(names & {_normal(p) for p in PROVIDED_BY_RUNTIME})
    if shadowing:
        raise BuildError(f"{', '.join(shadowing)} would shadow the Lambda runtime's own copy; the build should have removed it")
    foreign = sorted(p.relative_to(stage).as_posix() for p in stage.rglob("*.so") if not target.loads(p.name))
    if foreign:
        raise BuildError(f"extension module built for another platform or Python than {target}: "
                         f"{foreign[0]}" + (f" (and {len(foreign) - 1} more)" if len(foreign) > 1 else ""))


def _skip(relative: str) -> bool:
    # bin/ holds console scripts pip wrote for this machine; stale bytecode is rebuilt below.
    return relative.startswith("bin/") or "/__pycache__/" in f"/{relative}" or relative.endswith(".pyc")


def _sources(stage: Path) -> list[str]:
    """Every file the zip takes from the stage, as sorted relative paths."""
    files = (p.relative_to(stage).as_posix() for p in stage.rglob("*") if p.is_file())
    return sorted(f for f in files if not _skip(f))


# Runs in the target interpreter; argv: <stage> <out>; stdin: the .py files, one relative path a line.
# Hash-based, unchecked bytecode: unzipping (new mtimes) cannot make it stale. A file that does not
# compile (a py2-only example in a package) stays source only.
_COMPILE = r"""
import py_compile, sys
stage, out = sys.argv[1:3]
for relative in sys.stdin.read().splitlines():
    folder, _, name = relative.rpartition("/")
    cached = f"{folder}/__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/")
    try:
        py_compile.compile(f"{stage}/{relative}", cfile=f"{out}/{cached}", dfile=relative, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        continue
    print(relative, cached, sep="\t")
"""


def compile_bytecode(stage: Path, python: str, out: Path) -> dict[str, str]:
    """Compile every module in ``stage`` with ``python`` into ``out``; map each source to its .pyc's path."""
    modules = [f for f in _sources(stage) if f.endswith(".py")]
    done = subprocess.run([python, "-I", "-c", _COMPILE, str(stage), str(out)], input="\n".join(modules),
                          capture_output=True, text=True, check=False, timeout=600)
    if done.returncode != 0:
        raise BuildError(f"{python} could not compile the bytecode: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return dict(line.split("\t", 1) for line in done.stdout.splitlines() if line)


def write_zip(source: Path, out: Path, bytecode: dict[str, str] | None = None, compiled: Path | None = None) -> int:
    """Zip ``source`` into ``out`` reproducibly, each module followed by its .pyc from ``compiled``
    when ``bytecode`` has one. Return the entry count.

    Lambda's code folder is read-only, so without shipped bytecode every cold start compiles every
    module again.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as zf:
        def add(arcname: str, data: bytes) -> None:
            nonlocal count
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.external_attr = _ZIP_MODE
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
            count += 1

        for relative in _sources(source):
            add(relative, (source / relative).read_bytes())
            cached = (bytecode or {}).get(relative)
            if cached is not None and compiled is not None:
                add(cached, (compiled / cached).read_bytes())
    partial.replace(out)
    return count


def build(out: Path, *, wheelhouse: Path = WHEELHOUSE, requirements: Path = REQUIREMENTS,
          allow_index: bool = True, architecture: str | None = None, say=print) -> Path:  # type: ignore[no-untyped-def]
    """Build the artifact at ``out`` and return it; raise BuildError on any mismatch."""
    target = target_from(architecture=architecture)
    python = find_python(target.python_version)
    with tempfile.TemporaryDirectory(prefix="lambda-build-") as tmp:
        stage = Path(tmp) / "artifact"
        install_requirements(requirements, stage, wheelhouse, target, allow_index=allow_index)
        removed = remove_distributions(stage, PROVIDED_BY_RUNTIME)
        shutil.rmtree(stage / "bin", ignore_errors=True)
        copy_runtime_package(stage)
        # The content the runtime loads without pydantic: validated and compiled afresh from the TOML,
        # so the artifact never ships a stale compiled form (a ContentError stops the build).
        from skill.content import compile_catalogs

        compile_catalogs(stage / "skill" / "content" / "compiled")
        check_contents(stage, target)
        compiled = Path(tmp) / "bytecode"
        bytecode = compile_bytecode(stage, python, compiled) if python else {}
        entries = write_zip(stage, out, bytecode, compiled)
    if not python:
        say(f"note: no Python {target.python_version} here (BEDTIME_TARGET_PYTHON, python{target.python_version} "
            f"on PATH, pyenv): the zip ships source only, and each cold start compiles it")
    say(f"wrote {out} ({out.stat().st_size // 1024} KiB, {entries} files, {target}, "
        f"bytecode {'yes' if python else 'no'}; left to the runtime: {', '.join(removed) or 'nothing'})")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default=str(ROOT / "dist" / "lambda.zip"), help="where to write the zip")
    parser.add_argument("--wheelhouse", default=os.environ.get("BEDTIME_WHEELHOUSE", str(WHEELHOUSE)),
                        help="folder of downloaded wheels, reused between builds")
    parser.add_argument("--requirements", default=str(REQUIREMENTS), help="the runtime requirements to install")
    parser.add_argument("--offline", action="store_true", help="use only the wheelhouse; never reach the index")
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default=None,
                        help="build for this Lambda architecture instead of the one ask-resources.json deploys")
    args = parser.parse_args(argv)
    try:
        build(Path(args.out).resolve(), wheelhouse=Path(args.wheelhouse), requirements=Path(args.requirements),
              allow_index=not args.offline, architecture=args.arch)
    except BuildError as exc:
        print(f"build_lambda_zip: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
