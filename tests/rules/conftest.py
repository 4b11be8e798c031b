"""Rule tests run on a VirtualClock; no test sleeps."""
