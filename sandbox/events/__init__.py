"""Event templates and the event builder."""
