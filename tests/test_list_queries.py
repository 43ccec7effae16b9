"""Lists are read in a few queries, not one (or several) per row: the queries of a page of 50 are counted
(SQLAlchemy's ``before_cursor_execute``) and must be as few as for a page of 5. The inbox is filtered and
paged in SQL: what its reader may no longer see is neither listed nor counted in a page."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event

from obsapp.extensions import db

MAX_QUERIES = 16  # per request, sign-in included


@contextmanager
def counted():
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _queries(api, url: str, expected_items: int) -> list[str]:
    with counted() as statements:
        response = api.get(url)
    assert response.status_code == 200, response.json
    assert len(response.json["items"]) == expected_items
    return statements


def _listing(five: list[str], fifty: list[str]) -> str:
    return "\n".join(["5 items:", *(s[:90] for s in five), "50 items:", *(s[:90] for s in fifty)])


def assert_fifty_cost_what_five_do(api, url: str) -> None:
    """A page of 50 from ``url`` costs exactly the queries of a page of 5 (and few), each read from a cold
    session; the first call is not counted (a token's first use is written once)."""
    sep = "&" if "?" in url else "?"
    api.get(f"{url}{sep}per_page=1")
    db.session.expunge_all()
    five = _queries(api, f"{url}{sep}per_page=5", 5)
    db.session.expunge_all()
    fifty = _queries(api, f"{url}{sep}per_page=50", 50)
    assert len(fifty) == len(five) <= MAX_QUERIES, _listing(five, fifty)


@pytest.fixture
def school(make_user, make_lesson, make_mentorship, share):
    """A reader with lessons of their own, lessons shared with them and their mentees' lessons (each with a job),
    and a stranger's lessons they may not see."""
    from obsapp.jobs.models import Job

    reader, stranger = make_user(name="Reader"), make_user(name="Stranger")
    lessons, hidden = [], []
    for n in range(10):
        owner = make_user(name=f"Owner {n}")
        if n % 3 == 0:
            make_mentorship(reader, owner)
        lesson = make_lesson(reader if n % 3 == 1 else owner, title=f"Lesson {n}", status="ready",
                             duration_ms=60_000)
        if n % 3 == 2:
            share(lesson, reader, "viewer" if n % 2 else "commenter")
        job = Job(kind="lesson.ingest", state="done", progress=1.0, owner_id=lesson.owner_id, lesson_id=lesson.id)
        db.session.add(job)
        db.session.flush()
        lesson.job_id = job.id
        lessons.append(lesson)
        hidden.append(make_lesson(stranger, title=f"Hidden {n}", status="ready", duration_ms=60_000))
    db.session.commit()
    return reader, stranger, lessons, hidden


def _clips(lessons, creator, count: int):
    from obsapp.clips.models import Clip
    from obsapp.jobs.models import Job

    clips = []
    for n in range(count):
        lesson = lessons[n % len(lessons)]
        job = Job(kind="clip.render", state="done", progress=1.0, owner_id=creator.id, lesson_id=lesson.id)
        db.session.add(job)
        db.session.flush()
        clips.append(Clip(lesson_id=lesson.id, creator_id=creator.id, start_ms=n * 100, end_ms=n * 100 + 1000,
                          title=f"Clip {n}", status="ready", job_id=job.id, kind="strength", criteria=["3.2"]))
    db.session.add_all(clips)
    db.session.commit()
    return clips


@pytest.mark.parametrize("size", [5, 50])
def test_lesson_list_queries(api_as, school, size):
    reader, _stranger, lessons, _hidden = school
    api = api_as(reader)
    few = _queries(api, f"/api/v1/lessons?per_page={size}", min(size, len(lessons)))
    assert len(few) <= MAX_QUERIES, few


def test_lesson_list_of_50_costs_what_a_list_of_5_does(api_as, make_user, make_lesson, share):
    reader = make_user()
    for n in range(50):
        share(make_lesson(make_user(name=f"Owner {n}"), title=f"L{n}"), reader, "viewer")
    api = api_as(reader)
    assert_fifty_cost_what_five_do(api, "/api/v1/lessons")


def test_clip_list_of_50(api_as, school):
    reader, _stranger, lessons, _hidden = school
    _clips(lessons, reader, 50)
    api = api_as(reader)
    assert_fifty_cost_what_five_do(api, "/api/v1/clips")


def test_annotation_list_of_50(api_as, school):
    from obsapp.annotations.models import Annotation, Reply
    from obsapp.frameworks.models import Criterion

    reader, _stranger, lessons, _hidden = school
    lesson = next(lesson for lesson in lessons if lesson.owner_id == reader.id)
    criteria = db.session.query(Criterion).limit(3).all()
    for n in range(50):
        note = Annotation(lesson_id=lesson.id, author_id=reader.id, start_ms=n * 1000, kind="note", body=f"*n{n}*",
                          criteria=criteria[: n % 3 + 1])
        note.replies = [Reply(author_id=reader.id, body="Thanks")]
        db.session.add(note)
    db.session.commit()
    url = f"/api/v1/lessons/{lesson.id}/annotations"
    api = api_as(reader)
    assert_fifty_cost_what_five_do(api, url)


def _inbox_school(school, make_user):
    """50 clips and reels sent to the reader from lessons they see, and 20 from lessons they do not."""
    from obsapp.clips.models import FeedbackItem, Reel, ReelItem

    reader, stranger, lessons, hidden = school
    sender = make_user(name="Sender")
    visible_clips = _clips(lessons, sender, 40)
    invisible_clips = _clips(hidden, sender, 15)
    reels = []
    for n in range(15):
        clips = [visible_clips[n]] if n < 10 else [visible_clips[n], invisible_clips[n]]
        reel = Reel(creator_id=sender.id, title=f"Reel {n}", status="ready", clip_count=len(clips),
                    lesson_ids=sorted({c.lesson_id for c in clips}),
                    items=[ReelItem(clip_id=c.id, position=i) for i, c in enumerate(clips)])
        reels.append(reel)
    db.session.add_all(reels)
    db.session.flush()
    # sent in a mixed order (visible and not, clips and reels), so that any page holds some of each
    clip_rows = [FeedbackItem(clip_id=clip.id, recipient_id=reader.id, sender_id=sender.id, message="Look")
                 for pair in zip(visible_clips, invisible_clips + [None] * 25, strict=True) for clip in pair if clip]
    reel_rows = [FeedbackItem(reel_id=reel.id, recipient_id=reader.id, sender_id=sender.id) for reel in reels]
    for n, row in enumerate(clip_rows):
        db.session.add(row)
        if n % 4 == 3 and reel_rows:
            db.session.add(reel_rows.pop())
        db.session.flush()
    db.session.add_all(reel_rows)
    db.session.commit()
    visible = {("clip", c.id) for c in visible_clips} | {("reel", r.id) for r in reels[:10]}
    return reader, visible


def test_inbox_of_50_in_sql(api_as, school, make_user):
    reader, visible = _inbox_school(school, make_user)
    assert len(visible) == 50
    api = api_as(reader)
    assert_fifty_cost_what_five_do(api, "/api/v1/clips?for=me")
    assert api.get("/api/v1/clips?for=me&per_page=50").json["next"] is None  # the 20 invisible ones not counted


def test_inbox_pages_in_sql(api_as, school, make_user):
    reader, visible = _inbox_school(school, make_user)
    api = api_as(reader)
    seen, url, pages = [], "/api/v1/clips?for=me&per_page=15", 0
    while url:
        with counted() as statements:
            page = api.get(url).json
        # one query for the page's rows, LIMIT 16 (one more, to know whether there is a next page)
        page_queries = [s for s in statements if "FROM feedback_items" in s and "LIMIT" in s.upper()]
        assert len(page_queries) == 1, statements
        seen += [(item["type"], item["id"]) for item in page["items"]]
        assert all(item["delivery"]["recipient"]["id"] == reader.id for item in page["items"])
        url, pages = page["next"], pages + 1
    assert pages == 4 and len(seen) == len(set(seen)) == 50
    assert set(seen) == visible


def test_a_clips_recipients_cost_the_same_queries_for_5_as_for_40(api_as, school, make_user):
    """The sender's list of who a clip went to, with each recipient's reflections counted: one reflection query
    for every recipient together."""
    from obsapp.annotations.models import Annotation, Reply
    from obsapp.clips.models import FeedbackItem

    reader, _stranger, lessons, _hidden = school
    from obsapp.accounts.models import User
    from obsapp.lessons.models import Lesson

    reader_id = reader.id
    lesson_id = next(lesson.id for lesson in lessons if lesson.owner_id == reader_id)
    api = api_as(reader)
    api.get("/api/v1/clips?per_page=1")  # a token's first use is written once: not counted below
    statements, reflections = [], []
    for size in (5, 40):
        reader, lesson = db.session.get(User, reader_id), db.session.get(Lesson, lesson_id)
        note = Annotation(lesson_id=lesson.id, author_id=reader.id, start_ms=0, kind="question", body="Why?")
        db.session.add(note)
        db.session.flush()
        clip = _clips([lesson], reader, 1)[0]
        clip.annotation_id = note.id
        clip_id = clip.id
        people = [make_user(name=f"Recipient {size}-{n}") for n in range(size)]
        sent = datetime.now(UTC) - timedelta(hours=1)
        for n, person in enumerate(people):
            db.session.add(FeedbackItem(clip_id=clip.id, recipient_id=person.id, sender_id=reader.id, sent_at=sent))
            db.session.add(Reply(annotation_id=note.id, author_id=person.id, body="Before it was sent (not counted)",
                                 created_at=sent - timedelta(days=1)))
            db.session.add_all(Reply(annotation_id=note.id, author_id=person.id, body=f"Reflection {k}")
                               for k in range(n % 3))
        db.session.commit()
        db.session.expunge_all()
        with counted() as seen:
            response = api.get(f"/api/v1/clips/{clip_id}/deliveries")
        assert response.status_code == 200, response.json
        statements.append(seen)
        reflections.append(sorted(item["reflections"] for item in response.json["items"]))
    assert reflections[0] == sorted(n % 3 for n in range(5))
    assert reflections[1] == sorted(n % 3 for n in range(40))
    assert len(statements[0]) == len(statements[1]) <= MAX_QUERIES, _listing(*statements)
