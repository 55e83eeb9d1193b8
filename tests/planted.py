"""Request envelopes with a unique secret planted in every field ask-sdk-model lets a request carry.

The envelopes are built by walking ask-sdk-model's own types down from RequestEnvelope, through every
subclass of every polymorphic model (the 59 request types, slot values, viewports, causes, errors), so
no field the SDK knows can be missed: `every_field()` lists them and `Planter.covered` says which were
filled. Each field gets:

- a secret (a string or number no log could hold by chance): every string, number, id and token, and
  every key and value of free-form data (session attributes, payloads, arguments);
- a plausible value where the field names the request rather than the person (`STRUCTURAL`), and for a
  screen's numbers, so the skill answers it as it would a real one;
- a valid value of its closed form (enum member, true, a date-time), which cannot hold a word.

Every model also carries a field the SDK does not know (`futureField`), holding a secret.
"""
from __future__ import annotations

import importlib
import random
import re
from collections import Counter
from enum import Enum
from functools import cache
from typing import Any

from ask_sdk_model import Request

from tests.conversation import SKILL_ID

SECRET = "s3cr3t"
NUMBER = 913_000_000  # planted numbers count up from here
# Whatever a log holds that could be a planted secret.
PLANTED = re.compile(rf"{SECRET}\d{{5}}x|(?<![\d.])913\d{{6}}(?!\d)")
ENVELOPE = "ask_sdk_model.request_envelope.RequestEnvelope"
REQUEST_TYPES = sorted(Request.discriminator_value_class_map)
TIME = "2026-11-26T22:30:00Z"
UNKNOWN_FIELD = "futureField"
SLOT_NAMES = ("condition", "amount")

# Fields that say what kind of request this is, not who sent it or what they said: a capture may keep them.
STRUCTURAL = re.compile(
    r"^(version|request\.(type|requestId|locale|name)|session\.sessionId)$"
    r"|\.intent\.name$|\.slots\.[^.]+\.name$|\.application\.applicationId$"
)
# A screen's sizes and densities, which a capture may keep too.
SCREEN = re.compile(r"^context\.Viewports?[.[]")
PLAUSIBLE = {"version": "1.0", "requestId": "amzn1.echo-api.request.planted", "locale": "en-US",
             "sessionId": "amzn1.echo-api.session.planted", "applicationId": SKILL_ID}

_LIST = re.compile(r"list\[(.*)\]")
_DICT = re.compile(r"dict\(([^,]*), (.*)\)")
_SKIP = object()


@cache
def load(name: str) -> Any:
    module, _, attribute = name.rpartition(".")
    return getattr(importlib.import_module(module), attribute)


def qualified(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def subclasses(cls: type) -> list[type]:
    """The concrete models a polymorphic model's type name can pick (the model itself when it is not one)."""
    # The base declares the map; a subclass only inherits it.
    mapping = cls.__dict__.get("discriminator_value_class_map") or {}
    return [load(name) for name in mapping.values()] or [cls]


def fields(cls: type) -> list[tuple[str, str]]:
    """A model's (JSON name, SDK type) pairs."""
    return [(cls.attribute_map[attribute], kind) for attribute, kind in cls.deserialized_types.items()]


def every_field() -> set[tuple[str, str]]:
    """(model, JSON name) of every field reachable from RequestEnvelope, through every subclass."""
    found: set[tuple[str, str]] = set()
    seen: set[type] = set()
    todo = [load(ENVELOPE)]
    while todo:
        for cls in subclasses(todo.pop()):
            if cls in seen:
                continue
            seen.add(cls)
            for name, kind in fields(cls):
                found.add((qualified(cls), name))
                while match := _LIST.fullmatch(kind) or _DICT.fullmatch(kind):
                    kind = match.groups()[-1]
                if "." in kind and not issubclass(load(kind), Enum):
                    todo.append(load(kind))
    return found


class Planter:
    """Builds envelopes full of secrets and remembers where each secret went.

    Without `rng` every choice turns in order (a subclass, an enum member), so a few rounds over the
    request types fill every field; with `rng` (hypothesis's), choices are drawn, fields are left out
    and some are given a value of the wrong shape.
    """

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng
        self.secrets: dict[str, str] = {}  # planted text -> the path it was planted at
        self.covered: set[tuple[str, str]] = set()
        self._turns: Counter[str] = Counter()

    def every_request(self, rounds: int = 8) -> list[dict[str, Any]]:
        """Envelopes of every request type, round after round until every field has been filled."""
        envelopes: list[dict[str, Any]] = []
        target = every_field()
        for _ in range(rounds):
            envelopes += [self.envelope(kind) for kind in REQUEST_TYPES]
            if target <= self.covered:
                break
        return envelopes

    def envelope(self, request_type: str) -> dict[str, Any]:
        self._request_type = request_type
        envelope: dict[str, Any] = self._model(load(ENVELOPE), "", ())
        return envelope

    def found_in(self, text: str) -> dict[str, str]:
        """The planted secrets `text` holds, with where each was planted."""
        return {hit: self.secrets[hit] for hit in PLANTED.findall(text) if hit in self.secrets}

    def secret(self, path: str, number: str | None = None) -> str:
        text = number or f"{SECRET}{len(self.secrets):05d}x"
        self.secrets[text] = path
        return text

    def _choose(self, label: str, options: list[Any]) -> Any:
        if self.rng is not None:
            return self.rng.choice(options)
        self._turns[label] += 1
        return options[self._turns[label] % len(options)]

    def _model(self, base: type, path: str, stack: tuple[type, ...]) -> Any:
        options = [cls for cls in subclasses(base) if cls not in stack]
        if not options:
            return _SKIP  # a model inside itself (a list slot value, an APL component's children) stops here
        if path == "request":
            cls = load(Request.discriminator_value_class_map[self._request_type])
        else:
            cls = self._choose(qualified(base), options)
        node: dict[str, Any] = {}
        for name, kind in fields(cls):
            where = f"{path}.{name}".lstrip(".")
            if self.rng is not None and self.rng.random() < 0.1 and where != "request":
                continue
            if name == getattr(cls, "json_discriminator_key", None):
                value: Any = next(k for k, v in cls.discriminator_value_class_map.items() if v == qualified(cls))
            elif self.rng is not None and self.rng.random() < 0.05 and not STRUCTURAL.search(where) and where != "request":
                value = self._misshapen(where)
            else:
                value = self._value(kind, where, (*stack, cls))
            if value is not _SKIP:
                node[name] = value
                self.covered.add((qualified(cls), name))
        node[UNKNOWN_FIELD] = self.secret(f"{path}.{UNKNOWN_FIELD}")
        return node

    def _value(self, kind: str, path: str, stack: tuple[type, ...]) -> Any:
        if match := _LIST.fullmatch(kind):
            item = match[1]
            if "." in item and not issubclass(load(item), Enum):
                # One of each kind a list can hold, so one envelope covers them all.
                items = [self._model(cls, f"{path}[]", stack) for cls in subclasses(load(item)) if cls not in stack]
                return [i for i in items if i is not _SKIP]
            return [self._value(item, f"{path}[]", stack)]
        if match := _DICT.fullmatch(kind):
            if match[2] == "object":
                return self._free(path)
            keys = SLOT_NAMES if match[2].endswith(".Slot") else ("name0",)
            values = {key: self._value(match[2], f"{path}.{key}", stack) for key in keys}
            return {key: value for key, value in values.items() if value is not _SKIP}
        name = path.rsplit(".", 1)[-1]
        if kind == "str":
            if STRUCTURAL.search(path):
                if path == "request.name":
                    return "AskFor"  # the connection the skill asked for
                if name == "name":
                    return path.split(".")[-2] if ".slots." in path else "SafetyIntent"
                return PLAUSIBLE[name]
            return self.secret(path)
        if kind in ("int", "float"):
            if SCREEN.search(path):
                return 1024
            n = int(self.secret(path, str(NUMBER + len(self.secrets))))
            return n if kind == "int" else n + 0.5
        if kind == "bool":
            return True
        if kind == "datetime":
            return TIME
        if kind == "date":
            return TIME[:10]
        if kind == "object":
            return self._free(path)
        cls = load(kind)
        if issubclass(cls, Enum):
            return self._choose(kind, [member.value for member in cls])
        return self._model(cls, path, stack)

    def _free(self, path: str) -> dict[str, Any]:
        """Free-form data, its keys as secret as its values."""
        return {self.secret(f"{path}.key"): self.secret(f"{path}.value"),
                self.secret(f"{path}.key"): [self.secret(f"{path}[]"), {self.secret(f"{path}.key"): self.secret(f"{path}.value")}]}

    def _misshapen(self, path: str) -> Any:
        """A secret in a shape the field does not take: a list for a string, an object for a number."""
        shapes = [lambda: self.secret(path), lambda: [self.secret(path)], lambda: {self.secret(path): self.secret(path)}]
        if not SCREEN.search(path):  # a screen's numbers are kept, whatever they are
            shapes.append(lambda: int(self.secret(path, str(NUMBER + len(self.secrets)))))
        return self._choose("shape", shapes)()
