"""Interventions that learn: measure each calming episode, and choose what works per person."""
