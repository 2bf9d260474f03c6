"""The one `--set KEY=VALUE` parser, for training (`config --set`, `train --set`) and generation
(`generate --set`) settings alike. The values it reads are type-checked against the settings' dataclasses
by config/schema.py's `coerce`, which names the dotted key in every error.
"""

from __future__ import annotations

from typing import Any

import yaml

from .errors import UserError

__all__ = ["parse_assignment", "set_dotted"]


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
