"""Configuration: one YAML file, validated by pydantic models, with precise errors.

The names below are loaded when first used: a module that needs one model (the weekly
report's drawing process, which reads only ``insights``) does not import every model and
the loader with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ambient.config.errors import ConfigError, ConfigIssue
    from ambient.config.loader import DEFAULT_CONFIG_PATH, config_warnings, load_config
    from ambient.config.root import AmbientConfig

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "AmbientConfig",
    "ConfigError",
    "ConfigIssue",
    "config_warnings",
    "load_config",
]

#: Where each name above is defined.
_MODULES = {
    "ConfigError": "ambient.config.errors",
    "ConfigIssue": "ambient.config.errors",
    "DEFAULT_CONFIG_PATH": "ambient.config.loader",
    "config_warnings": "ambient.config.loader",
    "load_config": "ambient.config.loader",
    "AmbientConfig": "ambient.config.root",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULES[name]), name)
