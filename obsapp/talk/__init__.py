"""Talk and wait time from a lesson's audio (speech vs silence), computed by a job after ingest."""
