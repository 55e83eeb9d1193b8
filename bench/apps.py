"""The HTTP baselines, and a launcher that serves them under gunicorn as the skill is served.

    python -m bench.apps echo  --port 8001 --workers 2 --threads 4
    python -m bench.apps hello --port 8002 --workers 2 --threads 4

`echo` is bare Flask returning the JSON it was sent; `hello` is the hello skill behind the same
kind of thin adapter the skill's app uses (POST /alexa, JSON in, JSON out). Both answer
GET /healthz so the benchmark waits for them exactly as it waits for the skill.
"""
from __future__ import annotations

import argparse
from typing import Any

from flask import Flask, jsonify, request

from skill.web.server import Gunicorn, gunicorn_options


def create_echo_app() -> Flask:
    """Bare Flask: parse the JSON body and send it back."""
    app = Flask("bench-echo")

    @app.post("/alexa")
    def alexa() -> Any:
        return jsonify(request.get_json())

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    return app


def create_hello_app() -> Flask:
    """The hello skill behind a minimal Flask adapter."""
    from bench.hello import HelloRunner

    runner = HelloRunner()
    app = Flask("bench-hello")

    @app.post("/alexa")
    def alexa() -> Any:
        return jsonify(runner.invoke(request.get_json()))

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify({"status": "ok"})

    return app


FACTORIES = {"echo": create_echo_app, "hello": create_hello_app}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.apps", description="Serve an HTTP baseline on loopback.")
    parser.add_argument("app", choices=sorted(FACTORIES))
    parser.add_argument("--host", default="127.0.0.1", choices=["127.0.0.1"])  # loopback only
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args(argv)
    Gunicorn(FACTORIES[args.app], gunicorn_options(args.host, args.port, args.workers, args.threads)).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
