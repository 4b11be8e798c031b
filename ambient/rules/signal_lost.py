"""An open episode whose signal has gone unknown for long ends as "signal lost".

An unknown value is not a recovery (the strap falling off does not mean the stress is over), so
an episode stays open through a short gap. But a watch taken off to charge, or left on the
nightstand, sends nothing for hours, and the lights its episode calmed — a living-room light
someone else uses too — would stay dimmed all that time on no evidence. Once the trigger's
signal has been unknown for :data:`SIGNAL_LOST_AFTER_S` the episode ends without its
``on_recovery`` (nothing says the person recovered), what it changed is put back, and the
trigger is clear again: a value in range once the signal is back fires anew (its ``for``, its
cooldown)."""

from __future__ import annotations

#: How long a signal trigger's signal may stay unknown before its open episode ends. Longer
#: than a watch's missed sample or two (a sparse watch's own ``stale_after`` is some 20 min).
SIGNAL_LOST_AFTER_S = 30 * 60.0


def lost_reason(signal: str, why: str) -> str:
    """The ``ended`` trace's reason."""
    return (
        f"signal lost: {signal} unknown ({why}) for {SIGNAL_LOST_AFTER_S / 60:.0f} min; "
        "episode ended without on_recovery, what it changed put back"
    )
