"""Teaching-practice frameworks (STP, Rosenshine, a school's own) and their criteria, as data."""
