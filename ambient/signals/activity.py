"""Rest, active or recovering: from a movement, activity or step sensor, else from the HR
reserve.

A high HR or a low HRV while the body works is not stress (Firstbeat stops calling it stress
above about 20 % of VO2max), and it takes a while to settle afterwards: the hold-off. When a
sensor that sees the body move is fresh, it alone decides: HR cannot tell a stressful moment
from light exercise, a movement sensor can.
"""

from __future__ import annotations

from ambient.config.signals import ActivityConfig
from ambient.signals.average import ExponentialAverage

REST = "rest"
ACTIVE = "active"
RECOVERING = "recovering"
#: The HR-reserve fallback reads HR averaged over about this long: exercise is sustained, a
#: one-second spike of a wrist sensor's HR is not.
_HR_AVERAGE_S = 30.0


class ActivityTracker:
    def __init__(self, config: ActivityConfig, max_hr: float) -> None:
        self.config = config
        self.max_hr = max_hr
        # What `state` reads at every update, as plain attributes: a config model's attribute
        # is read through pydantic's `__getattr__` hook, some hundreds of instructions a read.
        self._valid_for = config.sensor_valid_for
        self._hr_reserve = config.hr_reserve
        self._hold_off = config.hold_off
        self._sensor_active_time: float | None = None  # last sensor reading saying active
        self._sensor_time: float | None = None  # last reading that tells still from moving now
        self._last_steps: tuple[float, float] | None = None  # (time, cumulative count)
        self._last_active: float | None = None  # last moment we called it active
        # Movement (g) from stillness: one early gesture is not a workout.
        self._movement = ExponentialAverage(config.movement_window, start=0.0)
        self._hr = ExponentialAverage(_HR_AVERAGE_S)

    def movement(self, time: float, value: float) -> None:
        """One accelerometer figure, in g: the mean of | |a| - 1 g | (ENMO-like) over a
        moment. Its average over ``movement_window`` at or above ``movement_active`` is
        active: a seated gesture is a spike, walking stays high."""
        self._sensor_time = time
        if self._movement.add(time, value) >= self.config.movement_active:
            self._sensor_active_time = time

    def activity(self, time: float, value: float) -> None:
        self._sensor_time = time
        if value >= self.config.activity_threshold:
            self._sensor_active_time = time

    def steps(self, time: float, value: float) -> None:
        """A step count. Its cadence since the previous reading is of now when that was at most
        ``sensor_valid_for`` ago: the sensor then decides, active or still. Over a longer
        interval (a phone's count through HA every 15 minutes) it is an average: at a walking
        cadence the person walked during it (active at this reading), below it they may still
        be walking now, so the HR reserve keeps deciding. The first reading, and one after the
        count started again (a daily count at midnight), have no cadence at all."""
        previous = self._last_steps
        self._last_steps = (time, value)
        if previous is None or time <= previous[0]:
            return
        steps = value
        if self.config.steps_mode == "cumulative":
            if value < previous[1]:
                return
            steps = value - previous[1]
        seconds = time - previous[0]
        walking = steps / (seconds / 60) >= self.config.steps_per_min
        if seconds <= self.config.sensor_valid_for:
            self._sensor_time = time
        if walking:
            self._sensor_active_time = time

    def state(self, now: float, hr: float | None, resting_hr: float) -> str | None:
        """The state now, or None when there is nothing to tell from (no HR, no sensor).
        ``resting_hr`` is where the HR reserve starts (the person's rest, or a high one while
        their rest is not known)."""
        valid_for = self._valid_for
        sensor_fresh = self._sensor_time is not None and now - self._sensor_time <= valid_for
        sensor_active = (
            self._sensor_active_time is not None and now - self._sensor_active_time <= valid_for
        )
        hr_active = False
        if hr is None:
            self._hr.reset()
        else:
            hr = self._hr.add(now, hr)
        # The HR reserve is only the fallback: a fresh movement, activity or steps sensor
        # knows better (it calls seated stress rest).
        if hr is not None and not sensor_fresh and self.max_hr > resting_hr:
            hr_active = (hr - resting_hr) / (self.max_hr - resting_hr) >= self._hr_reserve
        if sensor_active or hr_active:
            self._last_active = now
            return ACTIVE
        if self._last_active is not None and now - self._last_active < self._hold_off:
            return RECOVERING
        if hr is None and not sensor_fresh:
            return None
        return REST

    def deadlines(self) -> list[float]:
        """Times at which the state may change without a new reading."""
        out: list[float] = []
        if self._sensor_active_time is not None:
            out.append(self._sensor_active_time + self.config.sensor_valid_for)
        if self._sensor_time is not None:
            out.append(self._sensor_time + self.config.sensor_valid_for)
        if self._last_active is not None:
            out.append(self._last_active + self.config.hold_off)
        return out
