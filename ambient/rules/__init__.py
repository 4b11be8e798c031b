"""Rules: triggers, conditions, `for` timers, hysteresis, cooldowns, modes, escalation and
recovery, with traces that explain every decision. :class:`~ambient.rules.engine.RuleEngine`
is the entry point."""
