"""Evidence across lessons: reels of every strength (or a before and after) on a criterion, made from the clip and
reel jobs, and analytics over time for a teacher and, for school leaders, for the whole school."""
