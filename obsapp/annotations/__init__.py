"""Annotations: timestamped, criteria-tagged feedback on a lesson, with replies, and exports."""
