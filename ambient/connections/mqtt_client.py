"""What ambient needs from aiomqtt that aiomqtt 2 does not offer, in one place.

aiomqtt has no manual acknowledgement, no way to read its incoming queue in bulk and no way to
hear the end of a session except through its message iterator; its paho client has the first,
and aiomqtt's own attributes the rest. paho reads every MQTT 5 packet's properties with a
class that rebuilds its tables each time (see :class:`SharedTableProperties`). Every use of
those private parts is here, so an aiomqtt or paho upgrade is checked against one module
(tests/connections/test_mqtt_connection.py and test_mqtt_properties.py cover each).
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Callable
from typing import Any, ClassVar

import aiomqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties

from ambient.stage_times import STAGE


class ReceivedMessage(aiomqtt.Message):
    """aiomqtt's message with paho's DUP flag, which aiomqtt drops: the broker sent this QoS
    1/2 message before and got no acknowledgement (the connection dropped first), so sends it
    again at the reconnect; it may have been handled already."""

    dup: bool = False

    @classmethod
    def sent_again(cls, message: aiomqtt.Message) -> ReceivedMessage:
        """``message``, as aiomqtt made it, flagged DUP."""
        received = cls(
            message.topic,
            message.payload,
            message.qos,
            message.retain,
            message.mid,
            message.properties,
        )
        received.dup = True
        return received


class IncomingQueue(asyncio.Queue[aiomqtt.Message | None]):
    """aiomqtt's queue of received messages, bounded where it can be; ``None`` ends it.

    QoS 1/2 messages are always taken: the broker sends at most its receive maximum of them
    unacknowledged, and one dropped here would hold its slot until the next session. QoS 0
    messages beyond ``qos0_limit`` are dropped and reported.

    While its reader waits on it empty, it sets :attr:`handle_now`: a QoS 0 or 1 message is
    then handled at once, in the turn that received it (nothing is ahead of it, so the order
    holds), instead of waking the reader a loop turn later. QoS 2 messages always queue: paho
    hands them over holding a lock their acknowledgement must not meet."""

    def __init__(self, qos0_limit: int, on_drop: Callable[[], None]) -> None:
        super().__init__()
        self._qos0_limit = qos0_limit
        self._on_drop = on_drop
        self.ended_because = "disconnected"
        #: The MQTT 5 reason code the broker ended the session with; None when the connection
        #: was just lost (paho's "Unspecified error" 0x80 then).
        self.broker_reason: int | None = None
        #: The reader's handler while it waits on this queue empty; None otherwise.
        self.handle_now: Callable[[aiomqtt.Message], None] | None = None
        #: Whether the broker takes MQTT 5 subscription identifiers (its CONNACK says).
        self.subscription_ids_available = True
        #: The reason codes of the broker's last UNSUBACK (aiomqtt keeps none).
        self.unsubscribe_codes: list[int] = []
        #: Whether the message aiomqtt is queueing was flagged DUP (see :func:`prepare`).
        self.arriving_dup = False
        self._handling = False

    def put_nowait(self, item: aiomqtt.Message | None) -> None:
        if STAGE is not None:
            STAGE("received")
        if item is not None:
            if self.arriving_dup:
                item = ReceivedMessage.sent_again(item)
            handle_now = self.handle_now
            if handle_now is not None and item.qos < 2 and not self.qsize() and not self._handling:
                self._handling = True  # one at a time: one arriving meanwhile queues
                try:
                    handle_now(item)
                finally:
                    self._handling = False
                return
            if item.qos == 0 and self.qsize() >= self._qos0_limit:
                self._on_drop()
                return
        super().put_nowait(item)

    def end(self, session: asyncio.Future[None]) -> None:
        """The session is over: the reader gets ``None`` after what is already queued (their
        acknowledgements cannot reach the broker, which delivers them again next session).
        Its exception is taken here, so it is never reported as unretrieved."""
        cause = None if session.cancelled() else session.exception()
        if cause is not None:
            self.ended_because = f"disconnected: {cause}"
            self.broker_reason = _reason_code(cause)
        super().put_nowait(None)


#: What paho reports for a connection lost without the broker's DISCONNECT.
_NO_REASON = 0x80


def _reason_code(cause: BaseException) -> int | None:
    """The reason code aiomqtt gives an unexpected disconnection (a paho ``ReasonCode``)."""
    code = getattr(cause, "rc", None)
    value = getattr(code, "value", code)
    return value if isinstance(value, int) and value != _NO_REASON else None


class SharedTableProperties(Properties):
    """paho's MQTT 5 ``Properties``, without its cost per packet read.

    paho makes one for every packet it reads (a PUBLISH too, whose properties ambient never
    reads), and each builds its tables of the 27 property names and types anew, then clears
    every name one by one before reading: about 15 of the 17 µs paho takes to decode a
    PUBLISH, at every message. These share the tables, built once per packet type (paho only
    reads them), and read an empty property list, the usual PUBLISH's, at once (nothing to
    clear on a fresh one). Anything else is read by paho's own code, with the same result.
    """

    _tables: ClassVar[dict[int, tuple[Any, Any, Any]]] = {}

    def __init__(self, packet_type: int) -> None:
        tables = self._tables.get(packet_type)
        if tables is None:
            super().__init__(packet_type)  # type: ignore[no-untyped-call]
            self._tables[packet_type] = (self.types, self.names, self.properties)
            return
        # paho's own __setattr__ takes these four names as they are; written as it does
        set_attribute = object.__setattr__
        set_attribute(self, "packetType", packet_type)
        set_attribute(self, "types", tables[0])
        set_attribute(self, "names", tables[1])
        set_attribute(self, "properties", tables[2])

    def unpack(self, buffer: bytes) -> tuple[Properties, int]:
        if len(vars(self)) == _OWN_ATTRIBUTES:  # none set before
            if buffer[:1] == b"\x00":
                return self, 1  # no properties (length 0, one byte)
            length = buffer[0] if buffer else 0
            if 2 <= length <= 5 and buffer[1] == _SUBSCRIPTION_IDENTIFIER:
                # the usual PUBLISH to ambient: its subscription's identifier alone (one byte
                # of length, the property's, its number in 7-bit groups, the last below 128)
                identifier = shift = 0
                byte = 0x80  # (a list cut short: read by paho, which says so)
                for byte in buffer[2 : 1 + length]:
                    identifier |= (byte & 0x7F) << shift
                    shift += 7
                    if byte < 0x80:
                        break
                if byte < 0x80 and shift == 7 * (length - 1):
                    object.__setattr__(self, "SubscriptionIdentifier", [identifier])
                    return self, 1 + length
        result: tuple[Properties, int] = super().unpack(buffer)  # type: ignore[no-untyped-call]
        return result


#: What a fresh ``Properties`` holds: its packet type and three tables.
_OWN_ATTRIBUTES = 4
#: The MQTT 5 property number of a Subscription Identifier.
_SUBSCRIPTION_IDENTIFIER = 0x0B


def read_properties_with_shared_tables() -> None:
    """Have paho read incoming packets' properties with :class:`SharedTableProperties` (in
    the module that decodes them: ``_packet`` since paho 2.2, ``client`` before). For the
    whole process; calling it again changes nothing."""
    try:
        decoder = importlib.import_module("paho.mqtt._packet")
    except ImportError:
        decoder = importlib.import_module("paho.mqtt.client")
    names = vars(decoder)
    if names.get("Properties") is Properties:
        names["Properties"] = SharedTableProperties


def prepare(client: aiomqtt.Client, incoming: IncomingQueue) -> None:
    """Before connecting: acknowledge only when told (paho acknowledges on arrival otherwise,
    and what aiomqtt still queues at a shutdown would be lost), receive into ``incoming``,
    start watching for writability at once (see :func:`_write_at_once`) and read properties
    without rebuilding paho's tables (:func:`read_properties_with_shared_tables`), end an
    attempt the broker closes before answering at once (:func:`_end_attempt_when_closed`), and
    note whether the broker takes subscription identifiers (:func:`_note_subscription_ids`)
    and what it answers an unsubscribe (:func:`_note_unsubscribe_codes`), and keep each
    message's DUP flag (:class:`ReceivedMessage`)."""
    read_properties_with_shared_tables()
    client._client.manual_ack_set(True)
    client._queue = incoming  # type: ignore[assignment]  # it also carries the end mark
    _end_attempt_when_closed(client)
    _note_subscription_ids(client, incoming)
    _note_unsubscribe_codes(client, incoming)
    _receive_with_dup(client, incoming)
    _write_at_once(client)
    if STAGE is not None:
        _stamp_reads(client, STAGE)


#: Why a broker closes a connection before its CONNACK, most often.
CLOSED_BEFORE_ANSWER = (
    "the broker closed the connection without answering "
    "(a TLS port reached without `tls:`? check mqtt.port and mqtt.tls)"
)


def _end_attempt_when_closed(client: aiomqtt.Client) -> None:
    """A broker that closes the connection before its CONNACK (plain MQTT sent to a TLS-only
    port, most often) ends the attempt at once, saying so: aiomqtt ignores a disconnect before
    the CONNACK, waits its whole timeout and then reports only "Operation timed out"."""
    paho = client._client
    aiomqtt_on_disconnect = paho.on_disconnect
    connected = client._connected  # this client's one attempt (aiomqtt replaces it after)

    def on_disconnect(*args: Any) -> None:
        if not connected.done():
            connected.set_exception(aiomqtt.MqttError(CLOSED_BEFORE_ANSWER))
            connected.exception()  # retrieved: an attempt already given up must not log it
        if aiomqtt_on_disconnect is not None:
            aiomqtt_on_disconnect(*args)

    paho.on_disconnect = on_disconnect


def _note_subscription_ids(client: aiomqtt.Client, incoming: IncomingQueue) -> None:
    """Keep what the broker's CONNACK says of subscription identifiers (aiomqtt keeps none of
    its properties): a broker without them would end the session at a SUBSCRIBE with one."""
    paho = client._client
    aiomqtt_on_connect = paho.on_connect

    def on_connect(*args: Any) -> None:
        properties = args[4] if len(args) > 4 else None  # (client, userdata, flags, code, ...)
        available = getattr(properties, "SubscriptionIdentifierAvailable", 1)
        incoming.subscription_ids_available = available != 0
        if aiomqtt_on_connect is not None:
            aiomqtt_on_connect(*args)

    paho.on_connect = on_connect


def _note_unsubscribe_codes(client: aiomqtt.Client, incoming: IncomingQueue) -> None:
    """Keep the reason codes of each UNSUBACK (aiomqtt drops them): one unsubscribe at a
    time, awaited, reads its own answer's after its await."""
    paho = client._client
    aiomqtt_on_unsubscribe = paho.on_unsubscribe

    def on_unsubscribe(*args: Any) -> None:
        codes = args[3] if len(args) > 3 else []  # (client, userdata, mid, codes, properties)
        incoming.unsubscribe_codes = [
            value for code in codes if isinstance(value := getattr(code, "value", code), int)
        ]
        if aiomqtt_on_unsubscribe is not None:
            aiomqtt_on_unsubscribe(*args)

    paho.on_unsubscribe = on_unsubscribe


def _receive_with_dup(client: aiomqtt.Client, incoming: IncomingQueue) -> None:
    """Have a message paho flags DUP arrive in ``incoming`` as a :class:`ReceivedMessage`.
    aiomqtt's own ``on_message`` still makes each message and queues it (whatever it does
    with it, in this version or a later one); ``incoming`` is told the flag meanwhile. aiomqtt
    has no public hook for it: its message has no DUP flag, and a paho callback of our own
    would take the message past aiomqtt."""
    paho = client._client
    aiomqtt_on_message = paho.on_message
    if aiomqtt_on_message is None:  # an aiomqtt that receives otherwise: no DUP flag, no loss
        return

    def on_message(paho_client: Any, userdata: Any, message: Any) -> None:
        incoming.arriving_dup = bool(message.dup)
        try:
            aiomqtt_on_message(paho_client, userdata, message)
        finally:
            incoming.arriving_dup = False

    paho.on_message = on_message


def end_with_session(client: aiomqtt.Client, incoming: IncomingQueue) -> None:
    """Once connected: end ``incoming`` when aiomqtt ends the session."""
    client._disconnected.add_done_callback(incoming.end)


def acknowledge(client: aiomqtt.Client, message: aiomqtt.Message) -> None:
    client._client.ack(message.mid, message.qos)


def _stamp_reads(client: aiomqtt.Client, stage: Callable[[str], None]) -> None:
    """Stamp ``read`` when paho starts reading the socket (stage times only: without them
    nothing is wrapped), so the fast-path bench can tell paho's read and decoding of a
    message from the broker's and the event loop's share before it."""
    paho = client._client
    read = paho.loop_read

    def stamped_read(max_packets: int = 1) -> MQTTErrorCode:
        stage("read")
        return read(max_packets)

    paho.loop_read = stamped_read  # type: ignore[method-assign]


def _write_at_once(client: aiomqtt.Client) -> None:
    """paho asks for a writability watch whenever it queues a packet (a PUBACK). aiomqtt adds
    it one loop turn later (it may be asked from its connect thread); if the socket closes in
    that turn, asyncio logs a traceback for the stale descriptor. Asked on the event loop's own
    thread, the watch is added at once instead, while the socket is certainly open."""
    paho = client._client
    loop = asyncio.get_running_loop()
    from_any_thread = paho.on_socket_register_write

    def write() -> None:
        try:
            paho.loop_write()
        except Exception as exc:  # a broken connection: the session is over (as aiomqtt does)
            if not client._disconnected.done():
                client._disconnected.set_exception(exc)

    def register_write(paho_client: Any, userdata: Any, sock: Any) -> None:
        if _running_loop() is loop:
            loop.add_writer(sock.fileno(), write)
        elif from_any_thread is not None:
            from_any_thread(paho_client, userdata, sock)

    paho.on_socket_register_write = register_write


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a thread without an event loop (aiomqtt's connect)
        return None
