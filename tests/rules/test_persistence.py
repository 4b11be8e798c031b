"""Rule state and traces reach the store after the action is sent, a firing's writes in one
commit; stopping writes the state before it waits for anything."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rules.rule_doubles import Harness, make_config, stress_rule

from ambient.messages import ActionContext, ActionResult, TraceRecord
from ambient.rules.rule_store import STATE_NAMESPACE
from ambient.rules.tracing import TRACE_NAMESPACE
from ambient.store import Store


class CommitCountingStore(Store):
    """The real SQLite store, counting its commits (a batch is one)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.commits = 0
        self._in_batch = False

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        outer = not self._in_batch
        self._in_batch = True
        try:
            with super().batch():
                yield
        finally:
            if outer:
                self._in_batch = False
                self.commits += 1

    def put(self, namespace: str, key: str, value: Any) -> None:
        super().put(namespace, key, value)
        self.commits += 0 if self._in_batch else 1

    def append(self, namespace: str, key: str, value: Any, keep: int) -> None:
        super().append(namespace, key, value, keep)
        self.commits += 0 if self._in_batch else 1


def _instant_rule() -> dict[str, Any]:
    rule = stress_rule()
    rule["triggers"][0]["for"] = 0
    return rule


async def test_the_action_is_sent_before_any_write_and_the_firing_is_one_commit(
    tmp_path: Path,
) -> None:
    store = CommitCountingStore(tmp_path / "ambient.db")
    h = Harness(make_config([_instant_rule()]), store=store)
    at_send: list[tuple[int, Any]] = []
    perform = h.performer.perform

    async def perform_and_look(action: Any, context: ActionContext) -> ActionResult:
        at_send.append((store.commits, store.get(STATE_NAMESPACE, "calm")))
        return await perform(action, context)

    h.performer.perform = perform_and_look  # type: ignore[method-assign]
    await h.start()
    await h.push(0, stress_score=80)
    assert at_send == [(0, None)]
    await h.run_until(1)
    assert store.commits == 1
    saved = store.get(STATE_NAMESPACE, "calm")
    assert saved is not None and saved["persons"]["alex"]["last_fired"] == h.t0
    assert [t["event"] for t in store.recent(TRACE_NAMESPACE, "calm")] == ["fired"]


async def test_stop_writes_the_state_even_when_its_caller_gives_up_waiting(
    tmp_path: Path,
) -> None:
    path = tmp_path / "ambient.db"
    h = Harness(make_config([_instant_rule()]), store=Store(path))
    never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def stuck(action: Any, context: ActionContext) -> ActionResult:
        while not never.done():  # an action that ignores being cancelled
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(never)
        return ActionResult("log", True, "late")

    h.performer.perform = stuck  # type: ignore[method-assign]
    await h.start()
    await h.push(120, stress_score=80)  # fired: the run hangs in its action, nothing written yet
    stopping = asyncio.ensure_future(h.engine.stop())
    await asyncio.sleep(0)  # one turn: stop now waits for the run that will not end
    assert not stopping.done()
    saved = Store(path).get(STATE_NAMESPACE, "calm")
    assert saved is not None
    assert saved["persons"]["alex"]["last_fired"] == h.t0 + 120
    assert [r["kind"] for r in saved["persons"]["alex"]["runs"].values()] == ["actions"]
    never.set_result(None)
    await stopping


async def test_a_trace_from_outside_the_rules_decisions_is_kept_with_theirs(
    tmp_path: Path,
) -> None:
    # A breathing session goes quiet long after its action returned: the HA actuator hands
    # that turn to the engine, so `ambient trace` shows it beside the rule's own traces.
    store = Store(tmp_path / "ambient.db")
    h = await Harness(make_config([stress_rule()]), store=store).start()
    quiet = TraceRecord(
        time=h.clock.now(),
        rule="calm",
        event="continued",
        reason="breathing session goes quiet: media_player.kitchen is playing",
        person="alex",
    )
    h.engine.emit_trace(quiet)
    await h.run_until(1)
    assert h.traces == [quiet]
    assert [t["reason"] for t in store.recent(TRACE_NAMESPACE, "calm")] == [quiet.reason]
    await h.engine.stop()
    store.close()
