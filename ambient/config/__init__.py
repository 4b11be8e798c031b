"""Configuration: one YAML file, validated by pydantic models, with precise errors."""

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
