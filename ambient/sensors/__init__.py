"""Sensors: where readings enter ambient (recordings, BLE, MQTT, Home Assistant entities)."""
