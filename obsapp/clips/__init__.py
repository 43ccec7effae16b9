"""Clips of lessons, reels of clips, and the feedback inbox (clips and reels sent to people)."""
