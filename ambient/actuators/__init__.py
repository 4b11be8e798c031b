"""Actuators: what ambient does in the world (HA actions, MQTT), behind one dispatcher."""
