"""`choose_calming`: a ban of every option is refused at its line; `run` would trace
"every option is banned" at each episode and never calm anyone."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ambient.config.actions import ChooseCalming

OPTIONS = [
    {"id": "quiet", "actions": [{"action": "log", "message": "quiet"}]},
    {"id": "breathe", "actions": [{"action": "log", "message": "breathe"}]},
]


def test_banning_every_option_is_refused() -> None:
    with pytest.raises(ValidationError, match="every option is banned: nothing would be chosen"):
        ChooseCalming.model_validate({"options": OPTIONS, "ban": ["quiet", "breathe"]})


def test_banning_all_but_one_option_is_taken() -> None:
    step = ChooseCalming.model_validate({"options": OPTIONS, "ban": ["quiet"]})
    assert step.ban == ["quiet"]
