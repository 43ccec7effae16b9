"""The mentoring cycle: goals and their evidence, observation cycles, the reflective journal, notifications."""
