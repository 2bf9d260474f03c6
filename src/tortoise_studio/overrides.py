"""Typed settings from plain data: the one `--set KEY=VALUE` parser and the one type check behind it.

Training (`config --set`, `train --set`, train.yaml) and generation (`generate --set`) settings are
frozen dataclasses. Values arrive as YAML or as `KEY=VALUE` text; `coerce` checks each against the
field's real type annotation and names the dotted key in every error.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

import yaml

from .errors import UserError

__all__ = ["parse_assignment", "set_dotted", "build", "coerce", "show"]


def parse_assignment(item: str) -> tuple[str, Any]:
    """`dotted.key=value` -> (key, value); the value is read as YAML (`4`, `1e-5`, `false`, `[0.9, 0.96]`),
    and nothing after `=` means null."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. scheduler.type=cosine")
    try:
        return key, (yaml.safe_load(raw) if raw.strip() else None)
    except yaml.YAMLError as exc:
        raise UserError(f"{key}: cannot read value {raw!r} ({' '.join(str(exc).split())})") from exc


def set_dotted(data: dict, key: str, value: Any) -> None:
    """Set `key` (dotted for nested sections) in a nested dict; only keys that exist already."""
    parts = key.split(".")
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node.get(part)
        if not isinstance(child, dict):
            raise UserError(f"{'.'.join(parts[:i + 1])}: unknown section (in --set {key})")
        node = child
    if parts[-1] not in node:
        raise UserError(f"{key}: unknown key")
    node[parts[-1]] = value


def build(cls: type, data: Any, prefix: str = ""):
    """An instance of dataclass `cls` from a dict, raising UserError naming the dotted key for unknown
    keys, missing required ones and wrong types."""
    if not isinstance(data, dict):
        raise UserError(f"{prefix.rstrip('.') or 'configuration'}: expected a mapping of keys, got {show(data)}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    for key in data:
        if key not in known:
            raise UserError(f"{prefix}{key}: unknown key (known here: {', '.join(known)})")
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in data:
            values[f.name] = coerce(data[f.name], hints[f.name], f"{prefix}{f.name}")
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise UserError(f"{prefix}{f.name}: missing (required)")
    return cls(**values)


def coerce(value: Any, hint: Any, key: str) -> Any:
    """`value` as type `hint` (bool, int, float, str, lists, nested dataclasses, `X | None`), or UserError."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        hint = next(o for o in options if o is not type(None))
        origin = typing.get_origin(hint)
    if dataclasses.is_dataclass(hint):
        return build(hint, value, key + ".")
    if origin is list:
        if not isinstance(value, list):
            raise UserError(f"{key}: expected a list, got {show(value)}")
        (item,) = typing.get_args(hint)
        return [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise UserError(f"{key}: expected true or false, got {show(value)}")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise UserError(f"{key}: expected a whole number, got {show(value)}")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        # YAML 1.1 reads "1e-5" (no dot) as text; accept any text that is a plain number.
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise UserError(f"{key}: expected a number, got {show(value)}")
    if hint is str:
        if isinstance(value, str):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)  # a dataset named 2024 comes out of YAML as a number
        raise UserError(f"{key}: expected text, got {show(value)}")
    raise TypeError(f"{key}: unsupported type {hint!r}")  # a programming error, not user input


def show(value: Any) -> str:
    return repr(value) if not isinstance(value, (dict, list)) else type(value).__name__
