"""Read the package's data files: sourced zone facts and behavioural parameter defaults.

`zone_facts.yaml` holds every real-world number (with its source); `parameters.yaml` holds the
behavioural assumptions (with rationale and range). Nothing else in the code repeats them.
"""

from __future__ import annotations

import hashlib
import re
from functools import cache
from importlib import resources
from typing import Any

import yaml

DATA_PACKAGE = "model.data"


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's parser when available
    """SafeLoader that also reads YAML 1.2 floats such as `1.0e9` (YAML 1.1 wants `1.0e+9`)."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
        |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
        |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
        |[-+]?\.(?:inf|Inf|INF)
        |\.(?:nan|NaN|NAN))$""",
        re.X,
    ),
    list("-+0123456789."),
)


def yaml_load(text: str | bytes) -> object:
    """Parse YAML safely, reading `1e9`-style numbers as floats."""
    return yaml.load(text, Loader=_Loader)


def _read(name: str) -> bytes:
    return resources.files(DATA_PACKAGE).joinpath(name).read_bytes()


@cache
def load_yaml(name: str) -> dict[str, Any]:
    """Parsed content of a YAML file in model/data (cached; treat as read-only)."""
    return yaml_load(_read(name))  # type: ignore[return-value]


def file_sha256(name: str) -> str:
    """SHA-256 of a data file's bytes, for provenance records."""
    return hashlib.sha256(_read(name)).hexdigest()


def facts() -> dict[str, Any]:
    """The zone facts (zone_facts.yaml)."""
    return load_yaml("zone_facts.yaml")


def fact(*path: str | int) -> float:
    """Central value of one sourced fact, e.g. ``fact("zone", "gdp_yuan", 2020)``."""
    node: Any = facts()
    for key in path:
        node = node[key]
    return float(node["value"])


def fact_range(*path: str | int) -> tuple[float, float]:
    """(low, high) of a fact that has a published range; the central value if it has none."""
    node: Any = facts()
    for key in path:
        node = node[key]
    value = float(node["value"])
    return float(node.get("low", value)), float(node.get("high", value))


def sector_output_2020(sector: str) -> float:
    """Central estimate of a sector's 2020 output, yuan/year."""
    return fact("sectors", sector, "output_2020")
