"""Reading MQTT 5 properties with shared tables gives what paho's own class gives, for every
packet shape, and one packet's properties never leak into another's."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ambient.connections.mqtt_client import (
    SharedTableProperties,
    read_properties_with_shared_tables,
)


def packed(packet_type: int, **values: Any) -> bytes:
    source = Properties(packet_type)  # type: ignore[no-untyped-call]
    for name, value in values.items():
        setattr(source, name, value)
    result: bytes = source.pack()  # type: ignore[no-untyped-call]
    return result


BUFFERS = [
    pytest.param(PacketTypes.PUBLISH, b"\x00" + b'{"hr": 72}', id="publish-empty"),
    pytest.param(PacketTypes.PUBLISH, b"\x00", id="publish-empty-no-payload"),
    pytest.param(
        PacketTypes.PUBLISH,
        packed(
            PacketTypes.PUBLISH,
            ContentType="application/json",
            MessageExpiryInterval=30,
            UserProperty=[("a", "1"), ("b", "2")],
            CorrelationData=b"\x01\x02",
        )
        + b"payload",
        id="publish-full",
    ),
    pytest.param(PacketTypes.PUBLISH, packed(PacketTypes.PUBLISH, TopicAlias=3), id="alias"),
    pytest.param(
        PacketTypes.PUBLISH,
        packed(PacketTypes.PUBLISH, SubscriptionIdentifier=5) + b"72",
        id="subscription-id-small",
    ),
    pytest.param(
        PacketTypes.PUBLISH,
        packed(PacketTypes.PUBLISH, SubscriptionIdentifier=268_435_455) + b"72",
        id="subscription-id-largest",
    ),
    pytest.param(
        PacketTypes.PUBLISH,
        packed(PacketTypes.PUBLISH, SubscriptionIdentifier=[7, 300_000]) + b"72",
        id="subscription-ids-two",
    ),
    pytest.param(
        PacketTypes.PUBLISH,
        packed(PacketTypes.PUBLISH, SubscriptionIdentifier=9, ContentType="a"),
        id="subscription-id-and-more",
    ),
    pytest.param(
        PacketTypes.CONNACK,
        packed(PacketTypes.CONNACK, ReceiveMaximum=20, AssignedClientIdentifier="x"),
        id="connack",
    ),
    pytest.param(PacketTypes.SUBACK, packed(PacketTypes.SUBACK, ReasonString="no"), id="suback"),
]


def read_with(cls: type[Properties], packet_type: int, buffer: bytes) -> tuple[Any, int]:
    properties = cls(packet_type)
    read, length = properties.unpack(buffer)  # type: ignore[no-untyped-call]
    assert read is properties
    return read.json(), length  # type: ignore[no-untyped-call]


@pytest.mark.parametrize(("packet_type", "buffer"), BUFFERS)
def test_properties_read_as_paho_reads_them(packet_type: int, buffer: bytes) -> None:
    for _ in range(2):  # the first builds the tables, the second shares them
        shared = read_with(SharedTableProperties, packet_type, buffer)
        assert shared == read_with(Properties, packet_type, buffer)


@pytest.mark.parametrize(
    "buffer",
    [
        b"\x05\x03\x00",  # 5 bytes of properties announced, a content type cut short
        b"\x05\x0b\x81",  # a subscription identifier cut short
        b"\x03\x0b",  # and one with nothing of its number
        b"",  # no length at all
    ],
)
def test_a_malformed_list_fails_as_paho_fails(buffer: bytes) -> None:
    with pytest.raises(Exception) as paho_error:
        read_with(Properties, PacketTypes.PUBLISH, buffer)
    with pytest.raises(Exception) as shared_error:
        read_with(SharedTableProperties, PacketTypes.PUBLISH, buffer)
    assert type(shared_error.value) is type(paho_error.value)


def test_one_packets_properties_do_not_reach_another() -> None:
    first = SharedTableProperties(PacketTypes.PUBLISH)
    first.UserProperty = [("a", "1")]
    first.ContentType = "text/plain"
    second = SharedTableProperties(PacketTypes.PUBLISH)
    assert second.isEmpty()  # type: ignore[no-untyped-call]
    assert second.unpack(b"\x00") == (second, 1)
    assert second.json() == {}  # type: ignore[no-untyped-call]
    second.ContentType = "a"
    again, length = second.unpack(b"\x00")  # read over one already set: paho clears it
    assert (again.json(), length) == ({}, 1)  # type: ignore[no-untyped-call]
    assert first.json() == {"UserProperty": [("a", "1")], "ContentType": "text/plain"}  # type: ignore[no-untyped-call]


def test_paho_decodes_incoming_packets_with_the_shared_tables() -> None:
    read_properties_with_shared_tables()
    read_properties_with_shared_tables()  # again: no change
    try:
        decoder = importlib.import_module("paho.mqtt._packet")
    except ImportError:
        decoder = importlib.import_module("paho.mqtt.client")
    assert vars(decoder)["Properties"] is SharedTableProperties
