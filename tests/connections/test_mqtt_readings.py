"""The satellite batch format: what a satellite sends and the central reads. A batch a
satellite held through a broker outage says so (`"held": true`), a key older centrals ignore;
a batch without it is as before, byte for byte."""

from __future__ import annotations

import json

from ambient.connections.mqtt_readings import batch_held, decode_batch, encode_batch
from ambient.readings import Reading

BEAT = Reading(1_800_000_000.0, "alex", "rr", 800.0, "strap")


def test_a_batch_is_compact_and_versioned() -> None:
    assert encode_batch("kitchen", [BEAT]) == (
        b'{"v":1,"instance":"kitchen","readings":[[1800000000.0,"alex","rr",800.0,"strap"]]}'
    )


def test_a_batch_held_through_an_outage_says_so_and_still_reads_as_version_1() -> None:
    document = json.loads(encode_batch("kitchen", [BEAT], held=True))
    assert document["held"] is True
    assert decode_batch(document) == ("kitchen", [[1800000000.0, "alex", "rr", 800.0, "strap"]])
    assert batch_held(document)


def test_only_a_true_held_marks_a_batch_held() -> None:
    assert not batch_held(json.loads(encode_batch("kitchen", [BEAT])))
    for value in ("yes", 1, None, False):
        assert not batch_held({"v": 1, "instance": "kitchen", "readings": [], "held": value})
