"""People: users, sign-in, API tokens, mentorships, and the permission rules every layer uses."""
