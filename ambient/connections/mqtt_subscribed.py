"""The topic filters each MQTT client id of ours has subscribed, remembered in the store.

Why: a broker keeps a persistent session's subscriptions until the client unsubscribes them. A
filter taken out of the config (a sensor's topic changed, a rule's trigger removed) would stay
subscribed for good: the broker would go on sending what it matches and, while ambient is away,
queuing it, crowding real readings out of its per-client queue. What is remembered here is what
the next connect unsubscribes once the config no longer has it.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from ambient.store import Store, StoreError
from ambient.warn_once import WarnOnce

if TYPE_CHECKING:
    from ambient.config.store import StoreConfig

#: The store's namespace; the key is the client id, the value its filters (a sorted list).
NAMESPACE = "mqtt.subscribed"

_LOGGER = logging.getLogger(__name__)


class SubscribedFilters:
    """The filters subscribed under each client id, kept in ``store``. A store that refuses
    (a full card) is said once until it reads, or writes, again (:class:`WarnOnce`) and changes
    nothing else: the filters are then only not remembered, as before the store kept them."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._refusals = {"read": WarnOnce(_LOGGER), "write": WarnOnce(_LOGGER)}

    @contextlib.contextmanager
    def _opened(self) -> Iterator[Store]:
        """The store to read or write them in."""
        yield self._store

    def load(self, client_id: str) -> set[str] | None:
        """The filters remembered for ``client_id``; None when none are (its first start with
        this store, or one before ambient kept them: they cannot be known). A store that
        refuses the read raises StoreError (said here): what it holds is then unknown, and
        must not be written over."""
        try:
            with self._opened() as store:
                value = store.get(NAMESPACE, client_id)
        except StoreError as exc:
            self._refused("read", exc)
            raise
        self._refusals["read"].worked("The MQTT filters subscribed are read from the store again")
        if not isinstance(value, list) or not all(isinstance(f, str) for f in value):
            return None
        return set(value)

    def save(self, client_id: str, filters: set[str]) -> None:
        try:
            with self._opened() as store:
                store.put(NAMESPACE, client_id, sorted(filters))
        except StoreError as exc:
            self._refused("write", exc)
        else:
            self._refusals["write"].worked(
                "The MQTT filters subscribed are written in the store again"
            )

    def _refused(self, what: str, exc: StoreError) -> None:
        self._refusals[what].failed(
            "Could not %s the MQTT filters subscribed in the store (%s); a filter taken out "
            "of the config may stay subscribed on the broker",
            what,
            exc,
        )


class SubscribedFiltersInFile(SubscribedFilters):
    """The filters of a client whose own store lives in memory (``ambient record`` running
    its sensors itself: it must not write the daemon's state), kept in the file of the
    config's store all the same: its broker session outlives it as the daemon's does, and a
    filter of an earlier recording's config would otherwise stay subscribed for good. The
    file is opened for each read and write only, never held beside a daemon that starts.

    Only a store the daemon made is used, never made here: a recorder run before the daemon
    ever ran (as root, or another user) would make the daemon's file, or its folder, its own,
    and the daemon could not open it. Without it nothing is remembered, as before."""

    def __init__(self, config: StoreConfig) -> None:
        super().__init__(Store(None))
        self._config = config

    def _there(self) -> bool:
        return self._config.path is not None and self._config.path.exists()

    def load(self, client_id: str) -> set[str] | None:
        return super().load(client_id) if self._there() else None

    def save(self, client_id: str, filters: set[str]) -> None:
        if self._there():
            super().save(client_id, filters)

    @contextlib.contextmanager
    def _opened(self) -> Iterator[Store]:
        try:
            store = Store.from_config(self._config)
        except OSError as exc:  # its folder cannot be made (a file in its place)
            raise StoreError(f"store {self._config.path}: {exc.strerror or exc}") from None
        try:
            yield store
        finally:
            store.close()


def subscribed_filters(
    config: StoreConfig, store: Store | None, role: str | None
) -> SubscribedFilters | None:
    """Where a client remembers the filters it subscribed: in ``store``; for a second client
    (``role``) whose store lives in memory, in the configured store's file (with
    ``store.path: null`` there is none: in memory, for this run)."""
    if store is None:
        return None
    if role is not None and store.path is None and config.path is not None:
        return SubscribedFiltersInFile(config)
    return SubscribedFilters(store)
