"""`bedtime-skill`: serve the skill, replay a request, ask it offline, chat with it, lint the model."""
from __future__ import annotations

import argparse
import ipaddress
import json
import logging
import os
import secrets
import socket
import sys
from pathlib import Path
from typing import Any, TextIO, cast

from pydantic import ValidationError

from skill_tools.paths import MODEL_FILE, default_model_dir

DEFAULT_MODEL = default_model_dir()


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        try:
            return all(ipaddress.ip_address(info[4][0]).is_loopback for info in socket.getaddrinfo(host, None))
        except OSError:
            return False


def load_settings(**overrides: Any) -> Any:
    """Read settings from the environment, turning a bad value into one clear line per problem."""
    from skill.settings import Settings

    try:
        return Settings.from_env_pydantic(**overrides)
    except ValidationError as exc:
        lines = [f"  BEDTIME_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}" for e in exc.errors()]
        raise SystemExit("bedtime-skill: invalid settings:\n" + "\n".join(lines)) from None


def _runner(settings: Any) -> Any:
    from skill.builder import build_skill
    from skill.profile.factory import make_persistence_adapter
    from skill.runtime import SkillRunner

    return SkillRunner(build_skill(settings, persistence=make_persistence_adapter(settings)))


def _refuse(message: str) -> int:
    """One clear line on stderr and exit code 2: the setup is unsafe, nothing was started."""
    print(f"bedtime-skill: {message}", file=sys.stderr)
    return 2


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    """Serve POST /alexa: gunicorn workers for real use, Flask's reloader with --dev."""
    settings = load_settings()
    if args.dev and not is_loopback(args.host):
        # Werkzeug's debugger runs code for whoever reaches it: never on an address others can reach.
        return _refuse(f"refusing --dev on {args.host}: the development server is for 127.0.0.1 only")
    if not settings.verify_signature and not is_loopback(args.host):
        return _refuse(
            f"refusing to serve on {args.host} with request verification off; "
            "use 127.0.0.1, or set BEDTIME_VERIFY_SIGNATURE=true"
        )
    if settings.verify_signature and not settings.skill_id and not settings.accept_any_skill:
        return _refuse(
            "refusing to serve without BEDTIME_SKILL_ID: set it to your skill's id "
            "(or BEDTIME_ACCEPT_ANY_SKILL=true to answer any skill, which is unsafe)"
        )
    from skill.logs import configure

    configure(settings.log_level)
    if settings.verify_signature and not settings.skill_id:
        logging.getLogger("skill.serve").warning(
            "BEDTIME_ACCEPT_ANY_SKILL is on and BEDTIME_SKILL_ID is unset: requests Alexa signed for ANY skill "
            "will be answered and stored. Set BEDTIME_SKILL_ID for a real deployment."
        )
    if settings.capture_requests and settings.capture_personal:
        from skill.web.capture import PERSONAL_WARNING

        logging.getLogger("skill.serve").warning(PERSONAL_WARNING)
    mode = "ON" if settings.verify_signature else "OFF (local use only)"
    print(f"bedtime-skill: serving http://{args.host}:{args.port}/alexa, request verification {mode}", file=out, flush=True)
    factory: Any = None
    if not settings.verify_signature:
        from skill_tools.console import create_dev_app, load_resolver, model_file

        # The developer console is for local use only: never on an endpoint open to Alexa.
        # One secret for every worker (made here, before they fork), so any of them can read a
        # console tab's conversation token, whichever answered its last turn.
        console_secret = secrets.token_bytes(32)
        # Compiled once here too: the workers inherit it rather than each spending a second on it.
        load_resolver(model_file(DEFAULT_MODEL, args.locale))
        factory = lambda: create_dev_app(settings, console_secret=console_secret, locale=args.locale)  # noqa: E731
    if args.dev:
        from skill.web import create_app

        (factory or (lambda: create_app(settings)))().run(host=args.host, port=args.port, debug=True, use_reloader=True)
        return 0
    from skill.web.server import serve

    serve(settings, host=args.host, port=args.port, workers=args.workers, threads=args.threads, factory=factory)
    return 0


def _read_payload(source: str) -> Any:
    from skill.runtime import parse_json

    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return parse_json(text)


def cmd_request(args: argparse.Namespace, out: TextIO) -> int:
    """Replay a saved request envelope through the skill and print the response JSON."""
    from skill.runtime import BadEnvelope

    try:
        payload = _read_payload(args.file)
    except (OSError, ValueError) as exc:
        print(f"bedtime-skill: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    try:
        # A replay is offline: the envelope's apiEndpoint is not called.
        if args.locale and isinstance(payload, dict) and isinstance(payload.get("request"), dict):
            payload["request"]["locale"] = args.locale  # the same turn, heard in another market
        response = _runner(load_settings(persistence=args.persistence, alexa_api=False)).invoke(payload)
    except BadEnvelope as exc:
        print(f"bedtime-skill: {args.file}: {exc.reason}", file=sys.stderr)
        return 2
    print(json.dumps(response, indent=2, ensure_ascii=False), file=out)
    return 0


def _simulator(args: argparse.Namespace) -> Any:
    from skill_tools.simulator.dialog import load_slot_samples
    from skill_tools.simulator.envelopes import DEFAULT_SKILL_ID, RequestFactory
    from skill_tools.simulator.nlu import ModelError, Resolver
    from skill_tools.simulator.session import Simulator

    model = Path(args.model) / MODEL_FILE.with_name(f"{args.locale}.json")
    try:
        if getattr(args, "nlu", "resolver") == "device":
            from skill_tools.simulator.device import DeviceNLU

            # The interaction model alone, as a device judges (same interface as Resolver).
            resolver = cast(Resolver, DeviceNLU.from_model(model))
        else:
            resolver = Resolver.from_model(model)
    except ModelError as exc:
        raise SystemExit(f"bedtime-skill: {exc}") from None
    # Offline: nothing leaves the machine, so the Alexa settings and reminders APIs are not called.
    settings = load_settings(persistence=args.persistence, alexa_api=False)
    runner = _runner(settings)
    return Simulator(runner.invoke, resolver, RequestFactory(skill_id=settings.skill_id or DEFAULT_SKILL_ID, locale=args.locale),
                     load_slot_samples(model))


def cmd_ask(args: argparse.Namespace, out: TextIO) -> int:
    """Say one thing to the skill offline and print what it answers."""
    from skill_tools.simulator.nlu import APPROXIMATION_NOTE

    sim = _simulator(args)
    turn = sim.say(" ".join(args.utterance))
    if args.json:
        print(json.dumps({"request": turn.request, "response": turn.response}, indent=2), file=out)
        return 0
    res = turn.resolution
    if res is not None:
        slots = ", ".join(f"{s.name}={s.resolved_id or s.value}" for s in res.slots.values()) or "no slots"
        print(f"intent: {res.intent} ({slots}; confidence {res.confidence:.2f})", file=out)
        print(f"  ({APPROXIMATION_NOTE})", file=out)
    print(f"A: {turn.speech}", file=out)
    return 0


def cmd_chat(args: argparse.Namespace, out: TextIO) -> int:
    """Talk to the skill turn by turn in the terminal."""
    from skill_tools.simulator.session import chat_loop

    return chat_loop(_simulator(args), sys.stdin, out, show_json=args.json)


def cmd_lint(args: argparse.Namespace, out: TextIO) -> int:
    """Check the interaction model and manifest, and hold them against the handlers."""
    from skill.builder import handled_intents
    from skill_tools.lint import lint

    problems = lint(Path(args.path), handled_intents())
    for line in problems:
        print(line, file=out)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        return 1
    print(f"{args.path}: ok", file=out)
    return 0


# The markets the skill ships (a model and content each); other locales are answered as en-US.
LOCALES = ("en-US", "en-GB", "en-CA", "en-AU", "en-IN")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bedtime-skill", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the skill over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5000)
    serve.add_argument("--workers", type=int, default=int(os.environ.get("BEDTIME_WORKERS", "2")))
    serve.add_argument("--threads", type=int, default=4)
    serve.add_argument("--dev", action="store_true", help="Flask's development server with the reloader")
    serve.set_defaults(func=cmd_serve)

    req = sub.add_parser("request", help="run a saved request envelope (FILE or -) through the skill")
    req.add_argument("file")
    req.set_defaults(func=cmd_request)

    ask = sub.add_parser("ask", help="say one thing to the skill offline")
    ask.add_argument("utterance", nargs="+")
    ask.add_argument("--json", action="store_true", help="print the request and response JSON")
    ask.set_defaults(func=cmd_ask)

    chat = sub.add_parser("chat", help="a multi-turn conversation in the terminal")
    chat.add_argument("--json", action="store_true")
    chat.set_defaults(func=cmd_chat)

    for p in (req, ask, chat):
        # Offline tools must not write into the server's store unless asked to.
        p.add_argument("--persistence", choices=["none", "sqlite", "dynamodb"], default="none")
    for p in (ask, chat, serve):
        p.add_argument("--locale", choices=LOCALES, default="en-US",
                       help="the market the person talks from: its model hears, its content answers (serve: the console's)")
    req.add_argument("--locale", choices=LOCALES, default=None, help="answer the saved request as if said in this market")
    for p in (ask, chat):
        p.add_argument("--model", default=str(DEFAULT_MODEL), help="the skill package folder")
        p.add_argument("--nlu", choices=["resolver", "device"], default="resolver",
                       help="resolver: the offline resolver; device: models trained on the interaction model alone")

    lint = sub.add_parser("lint", help="check the interaction model and manifest")
    lint.add_argument("path", nargs="?", default=str(DEFAULT_MODEL))
    lint.set_defaults(func=cmd_lint)
    return parser


# The core install is the runtime only; each tool's own dependencies come with an extra (pyproject.toml).
EXTRAS = {"sklearn": "tools", "jellyfish": "tools", "flask": "web", "gunicorn": "web", "gevent": "web",
          "cryptography": "web", "certifi": "web", "boto3": "dynamodb", "ask_sdk_dynamodb": "dynamodb"}


def main(argv: list[str] | None = None, out: TextIO | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=os.environ.get("BEDTIME_LOG_LEVEL", "WARNING"), stream=sys.stderr)
    try:
        return int(args.func(args, out or sys.stdout))
    except ModuleNotFoundError as exc:
        extra = EXTRAS.get((exc.name or "").split(".")[0])
        if extra is None:
            raise
        print(f"bedtime-skill: this command needs {exc.name}: pip install 'bedtime-magnesium-skill[{extra}]'",
              file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # piped into `head`: the reader has all it wanted
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
