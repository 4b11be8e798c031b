"""Insights: what ambient keeps of the days it has seen (daily summaries per person), the
trends that warn early (HRV against its normal band, a rising stress score) and the weekly
report. It listens to signal updates and rule traces; nothing upstream imports it."""
