"""The Lambda entry: built into a zip by the documented command, imported and invoked from the zip alone."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "requests"

# Runs inside a bare interpreter (-I -S: no site-packages, no user site), so only the zip's contents exist.
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import lambda_function
for path in sys.argv[2:]:
    out = lambda_function.lambda_handler(json.load(open(path)), None)
    print(json.dumps(out["response"].get("outputSpeech", {}).get("ssml", "")))
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & {"boto3", "botocore", "flask", "gunicorn"})))
"""


def test_the_lambda_zip_runs_on_its_own(tmp_path: Path) -> None:
    zip_path = tmp_path / "lambda.zip"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "build_lambda_zip.py"), str(zip_path)], check=True,
                   capture_output=True)
    with zipfile.ZipFile(zip_path) as zf:
        names = zf.namelist()
        assert "lambda_function.py" in names and "skill/content/en-US/dose.toml" in names
        zf.extractall(tmp_path / "pkg")

    env = {"PATH": os.environ.get("PATH", ""), "BEDTIME_PERSISTENCE": "none", "BEDTIME_ALEXA_API": "false"}
    fixtures = [str(FIXTURES / "launch.json"), str(FIXTURES / "dose_intent_kidney.json")]
    out = subprocess.run([sys.executable, "-I", "-S", "-c", PROBE, str(tmp_path / "pkg"), *fixtures],
                         capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert out.returncode == 0, out.stderr
    launch, kidney, heavy = (json.loads(line) for line in out.stdout.splitlines())
    assert launch.startswith("<speak>") and "kidney" in kidney.lower() and "doctor" in kidney
    assert heavy == []  # the Lambda path loads neither boto3 nor the web stack
