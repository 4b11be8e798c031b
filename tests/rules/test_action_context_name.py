"""What a rule hands its actions names the person it acts for twice: by `id` (`{person}`) and by
the `name:` given under `people:` (`{name}`), the id when they have none."""

from __future__ import annotations

from rules.rule_doubles import Harness, log, make_config


async def test_each_action_gets_the_display_name_of_the_person_it_acts_for() -> None:
    rule = {
        "id": "racing",
        "triggers": [{"trigger": "signal", "signal": "hr", "above": 100}],
        "actions": [log("{name} races")],
    }
    config = make_config([rule], people=[{"id": "alex", "name": "Alex"}, {"id": "sam"}])
    h = await Harness(config).start()

    await h.push(10, "alex", hr=120.0)
    await h.push(20, "sam", hr=120.0)

    assert [(p.context.person, p.context.name) for p in h.performer.performed] == [
        ("alex", "Alex"),
        ("sam", "sam"),
    ]
