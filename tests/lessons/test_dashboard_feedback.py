"""The dashboard's lesson cards: a mentor leads with their mentees' lessons and where each stands, every card
counts its feedback and badges what is new to the reader (LessonSeen), durations read m:ss, the greeting
uses the full name, and "Feedback for me" lists lessons with new comments."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from tests.conftest import PASSWORD


class _Cards(HTMLParser):
    """{lesson id: the card's text} and the page's h1/h2 headings, in order."""

    def __init__(self):
        super().__init__()
        self.cards: dict[int, str] = {}
        self.headings: list[str] = []
        self._card: int | None = None
        self._depth = 0
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li" and "data-lesson" in attrs:
            self._card, self._depth = int(attrs["data-lesson"]), 0
            self.cards[self._card] = ""
        elif tag == "li" and self._card is not None:
            self._depth += 1
        if tag in ("h1", "h2"):
            self._heading = []

    def handle_endtag(self, tag):
        if tag == "li" and self._card is not None:
            if self._depth == 0:
                self._card = None
            else:
                self._depth -= 1
        if tag in ("h1", "h2") and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data):
        if self._card is not None:
            self.cards[self._card] += data
        if self._heading is not None:
            self._heading.append(data)


def _signed_in(app, user):
    """A cookie-session client, signed in through the JSON sign-in (pages are only read here)."""
    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return client


def _dashboard(client) -> tuple[_Cards, str]:
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    parsed = _Cards()
    parsed.feed(html)
    parsed.cards = {k: " ".join(v.split()) for k, v in parsed.cards.items()}
    return parsed, html


def _annotate(api, lesson, body, start_ms=1000):
    response = api.post(f"/api/v1/lessons/{lesson.id}/annotations", json={"start_ms": start_ms, "body": body, "kind": "growth"})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_mentor_and_teacher_dashboards(make_user, make_mentorship, make_lesson, api_as, app):
    teacher = make_user(name="Tan Mei Ling")
    mentor = make_user(name="Daniel Lim")
    make_mentorship(mentor, teacher)
    short = make_lesson(teacher, "Short starter", status="ready", duration_ms=12_000)
    given = make_lesson(teacher, "Fractions", status="ready", duration_ms=754_000)
    replied = make_lesson(teacher, "Angles", status="ready", duration_ms=3_725_000)
    as_mentor, as_teacher = api_as(mentor), api_as(teacher)
    _annotate(as_mentor, given, "Wait longer after questions")
    note = _annotate(as_mentor, replied, "Strong opening")
    _annotate(as_teacher, replied, "My own note, not feedback", 2000)
    assert as_teacher.post(f"/api/v1/annotations/{note['id']}/replies", json={"body": "Thanks, I will keep it."}).status_code == 201
    private = as_mentor.post(f"/api/v1/lessons/{short.id}/annotations",
                             json={"start_ms": 500, "body": "Only for me", "kind": "note", "visibility": "private"})
    assert private.status_code == 201

    mentor_page = _signed_in(app, mentor)
    page, _ = _dashboard(mentor_page)
    assert page.headings[:3] == ["Hello, Daniel Lim", "My mentees' lessons", "Feedback for me"]
    # the mentor's private note is not feedback yet
    assert "awaiting feedback" in page.cards[short.id] and "0 feedback comments" in page.cards[short.id]
    assert "feedback given" in page.cards[given.id] and "1 feedback comment " in page.cards[given.id] + " "
    assert "reflection received" in page.cards[replied.id]
    # new to the mentor: the teacher's own note and reply on "Angles"; the mentor's own writing never is
    assert "2 new" in page.cards[replied.id] and "new" not in page.cards[given.id].replace("feedback given", "")
    assert "Tan Mei Ling" in page.cards[short.id]

    teacher_page = _signed_in(app, teacher)
    page, html = _dashboard(teacher_page)
    assert page.headings[0] == "Hello, Tan Mei Ling" and "My mentees' lessons" not in page.headings
    assert "0:12" in page.cards[short.id] and "12:34" in page.cards[given.id] and "1:02:05" in page.cards[replied.id]
    assert "min" not in page.cards[short.id]
    # the mentor's private note is neither counted nor new to the teacher
    assert "0 feedback comments" in page.cards[short.id] and " new" not in page.cards[short.id]
    assert "1 new" in page.cards[given.id] and "1 new" in page.cards[replied.id]
    assert "awaiting feedback" not in page.cards[short.id]  # statuses are for mentors
    comments = re.search(r'<ul class="new-comments" id="new-comments">(.*?)</ul>', html, re.S).group(1)
    assert "Fractions" in comments and "Angles" in comments and "Short starter" not in comments

    # opening the lesson's page: its feedback is no longer new; later feedback is
    assert teacher_page.get(f"/lessons/{given.id}").status_code == 200
    page, html = _dashboard(teacher_page)
    assert " new" not in page.cards[given.id] and "1 new" in page.cards[replied.id]
    _annotate(as_mentor, given, "And one more thing", 3000)
    page, _ = _dashboard(teacher_page)
    assert "1 new" in page.cards[given.id] and "2 feedback comments" in page.cards[given.id]


def test_a_lesson_seen_by_many_people_is_theirs_each(make_user, make_mentorship, make_lesson, api_as, app, share):
    teacher, mentor, colleague = make_user(), make_user(), make_user()
    make_mentorship(mentor, teacher)
    lesson = make_lesson(teacher, "Shared lesson", status="ready", duration_ms=60_000)
    share(lesson, colleague, "commenter")
    _annotate(api_as(colleague), lesson, "From a colleague")
    mentor_client, colleague_client = _signed_in(app, mentor), _signed_in(app, colleague)
    assert mentor_client.get(f"/lessons/{lesson.id}").status_code == 200
    assert mentor_client.get(f"/lessons/{lesson.id}").status_code == 200  # a second visit updates the same row
    page, _ = _dashboard(mentor_client)
    assert " new" not in page.cards[lesson.id]
    page, _ = _dashboard(_signed_in(app, teacher))
    assert "1 new" in page.cards[lesson.id]
    page, _ = _dashboard(colleague_client)
    assert " new" not in page.cards[lesson.id] and "1 feedback comment" in page.cards[lesson.id]
