"""Build a deployable Lambda zip: lambda_function.py, the skill package and its runtime dependencies.

Dependencies are copied from the current environment's installed distributions (no download),
so the zip holds exactly what the tests ran against. boto3 and botocore are left out: the Lambda
Python runtime provides them, and they are only imported when DynamoDB persistence is chosen.
"""
from __future__ import annotations

import py_compile
import re
import sys
import tempfile
import zipfile
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
ROOTS = ["ask-sdk-core", "pydantic", "pydantic-settings", "ask-sdk-dynamodb-persistence-adapter"]
PROVIDED_BY_LAMBDA = {"boto3", "botocore", "s3transfer", "jmespath"}
SKIP = re.compile(r"(__pycache__|\.pyc$|\.dist-info/RECORD$|/tests?/)")


def _name(requirement: str) -> str:
    return re.split(r"[ ;<>=!~\[(]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def closure(roots: list[str]) -> list[metadata.Distribution]:
    """Every installed distribution the roots need at run time (extras and markers not taken)."""
    seen: dict[str, metadata.Distribution] = {}
    todo = list(roots)
    while todo:
        name = _name(todo.pop())
        if name in seen or name in PROVIDED_BY_LAMBDA:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist
        for text in dist.requires or []:
            req = Requirement(text)
            # Markers are judged for this interpreter with no extras, as pip would install them.
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def _add(zf: zipfile.ZipFile, source: Path, arcname: str, workdir: Path) -> None:
    """Add a file; a module also gets its bytecode, since Lambda's code folder is read-only.

    Without bytecode every cold start compiles every module (measured: about a second). The
    bytecode is hash-based and unchecked, so unzipping (which changes mtimes) cannot invalidate it.
    """
    zf.write(source, arcname)
    if source.suffix != ".py":
        return
    folder, _, name = arcname.rpartition("/")
    cached = f"{folder}/__pycache__/{name[:-3]}.{sys.implementation.cache_tag}.pyc".lstrip("/")
    out = workdir / cached
    try:
        py_compile.compile(str(source), cfile=str(out), dfile=arcname, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        return  # a file that does not compile (a py2-only example in a package) is kept as source only
    zf.write(out, cached)


def build(target: Path) -> Path:
    """Write the zip to `target` and return it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _add(zf, ROOT / "lambda" / "lambda_function.py", "lambda_function.py", work)
        for path in sorted((ROOT / "skill").rglob("*")):
            rel = path.relative_to(ROOT).as_posix()
            if path.is_file() and not SKIP.search(rel):
                _add(zf, path, rel, work)
        for dist in closure(ROOTS):
            for file in dist.files or []:
                rel = file.as_posix()
                if rel.startswith("..") or SKIP.search(rel) or rel.startswith("bin/"):
                    continue
                source = Path(dist.locate_file(file))
                if source.is_file():
                    _add(zf, source, rel, work)
    return target


if __name__ == "__main__":
    out = build(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT / "dist" / "lambda.zip"))
    print(f"wrote {out} ({out.stat().st_size // 1024} KiB)")
