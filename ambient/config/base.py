"""The base of every config model: unknown keys are errors, never silent defaults."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ConfigModel(BaseModel):
    """Frozen, strict about keys; fields may be written by alias (``for``) or name.

    ``defer_build``: a model's validator is built on first use, not at import. Loading a config
    builds one validator (``AmbientConfig``'s) instead of one per model, each holding its own
    copy of the nested action, condition and trigger unions: faster start-up, less memory.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        populate_by_name=True,
        str_strip_whitespace=True,
        defer_build=True,
    )
