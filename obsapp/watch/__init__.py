"""Watch together: a group watches one lesson in sync (Socket.IO namespace ``/watch``), flags moments and
makes notes; each session's log (who joined, flags, notes, locks) is kept with the lesson."""
