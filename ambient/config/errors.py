"""Config problems, each naming file:line:column, the key path, what was wrong and what is
allowed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ConfigIssue:
    file: str
    line: int | None
    column: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ConfigError(Exception):
    """All problems found in a config, reported together."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        # In file order, as a reader goes through the file to fix them.
        self.issues = sorted(issues, key=lambda issue: (issue.line or 0, issue.column or 0))
        super().__init__("\n".join(str(issue) for issue in issues))


def format_path(path: tuple[str | int, ...]) -> str:
    """``('rules', 2, 'triggers', 0, 'for')`` → ``rules[2].triggers[0].for``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


def empty_text_message(name: str, may_be_left_out: bool) -> str:
    """A text key written empty (``media_content_id: ""``), said as what to do (not pydantic's
    "String should have at least 1 character"): a key with a default may also be left out."""
    if may_be_left_out:
        return f"`{name}` is empty: write its value, or leave the key out"
    return f"`{name}` is empty: write its value"
