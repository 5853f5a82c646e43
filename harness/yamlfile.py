"""YAML that people edit (rubrics, inventories), read so that every error can name its line.

>>> data = load_yaml(Path("inventory.yaml"), "inventory")
>>> data["nodes"][0][LINE], data.key_lines["vip"]
(12, 3)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from halab.errors import HalabError
from halab.inputs import read_text

LINE = "__line__"  # the key under which every mapping carries the line it starts on


class LinedDict(dict):  # type: ignore[type-arg]
    """A mapping that also knows the line of each of its keys (`key_lines`)."""

    key_lines: dict[Any, int]


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that keeps the line of every mapping and of every key."""


def _mapping_with_line(loader: _LineLoader, node: yaml.MappingNode) -> LinedDict:
    mapping = LinedDict(loader.construct_mapping(node, deep=True))
    mapping.key_lines = {key.value: key.start_mark.line + 1 for key, _ in node.value if isinstance(key, yaml.ScalarNode)}
    mapping[LINE] = node.start_mark.line + 1
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_with_line)


def parse_yaml(text: str, source: str) -> Any:
    """Plain data from YAML text, each mapping with its line under LINE."""
    try:
        return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise HalabError(f"{source}{where}: not valid YAML ({getattr(error, 'problem', error)})",
                         fix="check the indentation and the colons at that line") from None


def load_yaml(path: Path, what: str) -> Any:
    """`what` names the file for people (rubric, inventory) when it cannot be read."""
    return parse_yaml(read_text(path, what), str(path))
