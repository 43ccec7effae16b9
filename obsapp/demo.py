"""``obsapp demo``: a small demo school anyone can sign in to. Safe to run again."""

from __future__ import annotations

import logging
import subprocess
import tempfile
from pathlib import Path

from flask import Flask
from sqlalchemy import select

from obsapp.accounts import services as accounts
from obsapp.accounts.models import Mentorship, User
from obsapp.extensions import db
from obsapp.lessons.models import Lesson

log = logging.getLogger(__name__)

PEOPLE = [
    # email, name, admin
    ("admin@demo.school", "Aisha Rahman (admin)", True),
    ("mentor@demo.school", "Mei Ling Tan", False),
    ("teacher@demo.school", "Daniel Lim", False),
    ("colleague@demo.school", "Priya Nair", False),
]


def _user(email: str, name: str, admin: bool, password: str) -> tuple[User, bool]:
    user = db.session.execute(select(User).where(User.email == email)).scalar_one_or_none()
    if user is not None:
        return user, False
    return accounts.create_user(None, email=email, name=name, password=password, is_admin=admin), True


def _demo_video(path: Path, seconds: int = 60) -> None:
    """A generated 'lesson': colour bars with a moving pattern and a tone, 720p, H.264/AAC."""
    subprocess.run(
        ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=30:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=330:beep_factor=4:sample_rate=48000:duration={seconds}",
         "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-g", "60",
         "-c:a", "aac", "-b:a", "96k", "-shortest", str(path)],
        check=True, timeout=300)


def load(app: Flask, *, password: str) -> list[str]:
    lines = []
    users = {}
    for email, name, admin in PEOPLE:
        users[email], created = _user(email, name, admin, password)
        lines.append(f"{'Created' if created else 'Kept'} {email} ({name})")
    mentor, teacher = users["mentor@demo.school"], users["teacher@demo.school"]
    paired = db.session.execute(select(Mentorship).where(
        Mentorship.mentor_id == mentor.id, Mentorship.mentee_id == teacher.id, Mentorship.ended_at.is_(None))).first()
    if not paired:
        accounts.create_mentorship(None, mentor, teacher)
        lines.append(f"{mentor.name} now mentors {teacher.name}")

    lesson = db.session.execute(select(Lesson).where(Lesson.owner_id == teacher.id,
                                                     Lesson.title == "Demo: Fractions, P4")).scalar_one_or_none()
    if lesson is None:
        from obsapp.lessons import services as lessons

        lesson = lessons.create_lesson(teacher, {"title": "Demo: Fractions, P4", "subject": "Mathematics",
                                                 "level": "Primary 4",
                                                 "description": "A generated demo recording."})
        with tempfile.TemporaryDirectory() as tmp:
            video = Path(tmp) / "demo-lesson.mp4"
            _demo_video(video)
            from obsapp.storage import media_store

            staged = media_store().tmp_root / f"demo-{lesson.id}.mp4"
            staged.parent.mkdir(parents=True, exist_ok=True)
            video.replace(staged) if video.stat().st_dev == staged.parent.stat().st_dev else staged.write_bytes(
                video.read_bytes())
            lessons.start_processing(lesson, staged, filename="demo-lesson.mp4", size=staged.stat().st_size)
        lines.append(f"Added the lesson {lesson.title!r}; it is processed by the job worker (`obsapp serve`).")
    lines.append("")
    lines.append(f"Sign in at /login with any of the emails above and the password {password!r}.")
    return lines
