"""``ambient evaluate``: how well a rule finds labelled episodes in recordings, and why not."""
