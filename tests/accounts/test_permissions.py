"""Every access rule as one table of roles x rules, checked in ``obsapp.policy``, against its SQL filters
(lists are filtered in the database by the same rule), and through the API ("not visible" is 404, not allowed 403)."""

import io
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from obsapp import policy
from obsapp.extensions import db

ROLES = ["owner", "active mentor", "ended mentor", "mentor of someone else", "viewer share", "commenter share",
         "admin (not shared)", "admin shared as viewer", "stranger", "school leader", "deactivated commenter",
         "anonymous"]
SEES = {"owner", "active mentor", "viewer share", "commenter share", "admin shared as viewer"}
COMMENTS = {"owner", "active mentor", "commenter share"}
ADMINS = {"admin (not shared)", "admin shared as viewer"}

# rule -> the roles it allows. The world: the owner's lesson; the commenter wrote one shared, one private and one
# hidden annotation on it; the active mentor made a clip of it, a reel of that clip, and hosts a watch session.
TABLE = {
    "lesson: view": SEES,
    "lesson: comment": COMMENTS,
    "lesson: manage": {"owner"},
    "lesson: delete": {"owner"} | ADMINS,
    # consent incomplete (the world's lesson has no consent record; the default given is "unknown"): the others
    # who see the lesson get only its anonymised rendition
    "lesson: watch the original video": {"owner", "active mentor"},
    "annotation: see shared": SEES,
    "annotation: see private": {"commenter share"},  # its author only
    "annotation: see hidden": {"commenter share", "owner"},  # its author and the lesson's owner
    "annotation: edit or delete": {"commenter share"},
    "annotation: hide": {"owner"},
    "clip: see": SEES,
    "clip: retry, send, follow up": COMMENTS,
    "clip or reel: receive": SEES,
    "reel: see": SEES,
    "reel: retry": {"active mentor"},
    "reel: send": COMMENTS,
    "inbox: a delivered clip": SEES,
    "inbox: a delivered reel": SEES,
    "job: see": SEES,
    "watch: start or join": SEES,
    "watch: host (lock, end)": {"active mentor"},
    "frameworks: choose for the lesson": {"owner", "active mentor"},
    "talk: see": SEES,
    "talk: analyse again": COMMENTS,
    "calibration: open": {"active mentor"},
    "calibration: code": {"active mentor", "commenter share"},
    "admin: accounts, mentorships, frameworks": ADMINS,
    "admin: invite, import people, send reset links": ADMINS,
    "privacy: set the lesson's consent": {"owner"},
    "privacy: read the lesson's access log": {"owner"} | ADMINS,
    "admin: erase a person, read everyone's access log": ADMINS,
    "evidence: the teacher's analytics and evidence reels": {"owner", "active mentor"},
    "analytics: the school's aggregates": {"school leader"},
    "admin: grant the leader role": ADMINS,
}


@pytest.fixture
def world(make_user, make_lesson, make_mentorship, share):
    from obsapp.accounts import services
    from obsapp.annotations.models import Annotation
    from obsapp.clips.models import Clip, FeedbackItem, Reel, ReelItem
    from obsapp.evidence import leaders
    from obsapp.watch.models import WatchSession

    owner = make_user(name="Owner")
    lesson = make_lesson(owner, status="ready", duration_ms=10_000)
    people = {"owner": owner}
    people["active mentor"] = make_user()
    make_mentorship(people["active mentor"], owner)
    people["ended mentor"] = make_user()
    services.end_mentorship(None, make_mentorship(people["ended mentor"], owner))
    people["mentor of someone else"] = make_user()
    make_mentorship(people["mentor of someone else"], make_user())
    people["viewer share"] = make_user()
    share(lesson, people["viewer share"], "viewer")
    people["commenter share"] = make_user()
    share(lesson, people["commenter share"], "commenter")
    people["admin (not shared)"] = make_user(admin=True)
    people["admin shared as viewer"] = make_user(admin=True)
    share(lesson, people["admin shared as viewer"], "viewer")
    people["stranger"] = make_user()
    people["school leader"] = make_user()
    leaders.grant(None, people["school leader"].id)
    people["deactivated commenter"] = make_user()
    share(lesson, people["deactivated commenter"], "commenter")
    people["anonymous"] = None

    author, mentor = people["commenter share"], people["active mentor"]
    notes = {name: Annotation(lesson_id=lesson.id, author_id=author.id, start_ms=1000, kind="note", body=name,
                              visibility=visibility, hidden_at=hidden, hidden_by_id=owner.id if hidden else None)
             for name, visibility, hidden in [("shared", "shared", None), ("private", "private", None),
                                              ("hidden", "shared", datetime(2026, 1, 1, tzinfo=UTC))]}
    db.session.add_all(notes.values())
    clip = Clip(lesson_id=lesson.id, creator_id=mentor.id, start_ms=0, end_ms=1000, title="A clip", status="ready")
    db.session.add(clip)
    db.session.flush()
    reel = Reel(creator_id=mentor.id, title="A reel", status="ready", lesson_ids=[lesson.id], clip_count=1,
                items=[ReelItem(clip_id=clip.id, position=0)])
    session = WatchSession(id="policy-table-session", lesson_id=lesson.id, host_id=mentor.id)
    db.session.add_all([reel, session])
    db.session.flush()
    # a delivery of the clip and of the reel to every account (whether or not sending would allow it today),
    # to check that the inbox shows only what its reader may still see
    for user in people.values():
        if user is not None:
            db.session.add_all([FeedbackItem(clip_id=clip.id, recipient_id=user.id, sender_id=mentor.id),
                                FeedbackItem(reel_id=reel.id, recipient_id=user.id, sender_id=mentor.id)])
    db.session.commit()
    services.update_user(None, people["deactivated commenter"], active=False)
    return SimpleNamespace(lesson=lesson, people=people, notes=notes, clip=clip, reel=reel, session=session,
                           job=SimpleNamespace(owner_id=owner.id))


def _raises(call) -> bool:
    from obsapp.errors import Forbidden

    try:
        call()
    except Forbidden:
        return True
    return False


def decide(rule: str, actor, w) -> bool:
    """The policy's answer for ``actor`` under ``rule`` in world ``w``."""
    from obsapp.accounts import services as account_services
    from obsapp.evidence import leaders

    lesson = w.lesson
    if rule == "lesson: watch the original video":
        return policy.sees_original_video(actor, lesson, "unknown")
    if rule.startswith("lesson: "):
        return policy.can(actor, rule.removeprefix("lesson: "), lesson)
    if rule.startswith("annotation: see "):
        return policy.annotation_visible(actor, w.notes[rule.removeprefix("annotation: see ")], lesson)
    return {
        "annotation: edit or delete": lambda: policy.can_edit_annotation(actor, w.notes["shared"]),
        "annotation: hide": lambda: not _raises(lambda: policy.require_can_hide(actor, lesson)),
        "clip: see": lambda: policy.can_view_clip(actor, w.clip),
        "clip: retry, send, follow up": lambda: policy.can_view_clip(actor, w.clip)
        and policy.can(actor, "comment", w.clip.lesson),
        "clip or reel: receive": lambda: policy.may_receive(actor, [lesson]),
        "reel: see": lambda: policy.can_view_reel(actor, w.reel),
        "reel: retry": lambda: policy.can_retry_reel(actor, w.reel),
        "reel: send": lambda: policy.can_send_reel(actor, w.reel),
        "inbox: a delivered clip": lambda: policy.can_view_clip(actor, w.clip),
        "inbox: a delivered reel": lambda: policy.can_view_reel(actor, w.reel),
        "job: see": lambda: policy.can_view_job(actor, w.job, lesson),
        "watch: start or join": lambda: policy.can_watch(actor, lesson),
        "watch: host (lock, end)": lambda: policy.is_watch_host(actor, w.session),
        "frameworks: choose for the lesson": lambda: policy.can_choose_frameworks(actor, lesson),
        "talk: see": lambda: policy.can_view_talk(actor, lesson),
        "talk: analyse again": lambda: policy.can(actor, "comment", lesson),
        "calibration: open": lambda: policy.can_open_calibration(actor, lesson),
        "calibration: code": lambda: policy.may_code_calibration(actor, lesson),
        "admin: accounts, mentorships, frameworks": lambda: policy.is_admin(actor)
        and not _raises(lambda: policy.require_admin(actor)),
        "admin: invite, import people, send reset links": lambda: policy.is_admin(actor)
        and not _raises(lambda: account_services.pending_invites(actor)),
        "privacy: set the lesson's consent": lambda: policy.can(actor, "manage", lesson),
        "privacy: read the lesson's access log": lambda: policy.can_read_audit(actor, lesson)
        and not _raises(lambda: policy.require_audit(actor, lesson)),
        "admin: erase a person, read everyone's access log": lambda: policy.is_admin(actor)
        and not _raises(lambda: policy.require_can_erase(actor, w.people["stranger"])),
        "evidence: the teacher's analytics and evidence reels": lambda: policy.can_see_teacher_evidence(
            actor, lesson.owner_id),
        "analytics: the school's aggregates": lambda: policy.can_see_school_analytics(actor)
        and not _raises(lambda: policy.require_school_analytics(actor)),
        "admin: grant the leader role": lambda: policy.is_admin(actor)
        and not _raises(lambda: leaders.grant(actor, w.people["stranger"].id)),
    }[rule]()


@pytest.mark.parametrize("role", ROLES)
def test_policy_table(world, role):
    wrong = [(rule, f"policy says {not expected}") for rule, allowed in TABLE.items()
             if decide(rule, world.people[role], world) is not (expected := role in allowed)]
    assert wrong == []


def _selected(stmt) -> bool:
    return db.session.execute(stmt.limit(1)).first() is not None


@pytest.mark.parametrize("role", ROLES)
def test_sql_filters_follow_the_table(world, role):
    """Lists are filtered in SQL by the same rules: each filter selects exactly what the table allows."""
    from obsapp.annotations.models import Annotation
    from obsapp.clips.models import Clip, FeedbackItem, Reel
    from obsapp.lessons.models import Lesson

    actor, lesson = world.people[role], world.lesson
    assert _selected(select(Lesson.id).where(Lesson.id == lesson.id,
                                             policy.lesson_filter(actor, Lesson.id, Lesson.owner_id))) is (
        role in TABLE["lesson: view"])
    assert _selected(select(Clip.id).where(Clip.id == world.clip.id, policy.lesson_id_filter(actor, Clip.lesson_id))
                     ) is (role in TABLE["clip: see"])
    assert _selected(select(Clip.id).where(policy.clip_filter(actor, Clip.id))) is (role in TABLE["clip: see"])
    assert _selected(select(Reel.id).where(policy.reel_filter(actor, Reel.id))) is (role in TABLE["reel: see"])
    for name, note in world.notes.items():
        visible = _selected(select(Annotation.id).where(
            Annotation.id == note.id, policy.annotation_filter(actor, lesson, author_id=Annotation.author_id,
                                                               visibility=Annotation.visibility,
                                                               hidden_at=Annotation.hidden_at)))
        # the annotation filter runs once the lesson is known to be visible (it is applied under it)
        assert (visible and policy.can(actor, "view", lesson)) is (role in TABLE[f"annotation: see {name}"]), name
    if actor is not None:
        inbox = db.session.execute(select(FeedbackItem).where(policy.inbox_filter(
            actor, recipient_id=FeedbackItem.recipient_id, clip_id=FeedbackItem.clip_id,
            reel_id=FeedbackItem.reel_id))).scalars().all()
        assert {("clip" if row.clip_id else "reel") for row in inbox} == (
            {"clip", "reel"} if role in TABLE["inbox: a delivered clip"] else set())
        assert all(row.recipient_id == actor.id for row in inbox)


def test_a_reel_goes_when_one_of_its_clips_goes(world):
    from obsapp.clips.models import Clip, Reel

    owner = world.people["owner"]
    assert policy.can_view_reel(owner, world.reel)
    db.session.delete(db.session.get(Clip, world.clip.id))
    db.session.commit()
    reel = db.session.get(Reel, world.reel.id)
    assert not policy.can_view_reel(owner, reel)
    assert db.session.execute(select(Reel.id).where(policy.reel_filter(owner, Reel.id))).first() is None


def test_require_answers_404_when_not_visible_and_403_when_not_allowed(world):
    from obsapp.errors import Forbidden, NotFound

    lesson, people = world.lesson, world.people
    with pytest.raises(NotFound):
        policy.require(people["stranger"], "view", lesson)
    with pytest.raises(NotFound):
        policy.require(people["admin (not shared)"], "comment", lesson)
    with pytest.raises(Forbidden):
        policy.require(people["viewer share"], "comment", lesson)
    with pytest.raises(NotFound):
        policy.require_annotation(people["viewer share"], world.notes["private"], lesson)
    with pytest.raises(NotFound):
        policy.require_clip(people["stranger"], world.clip)
    with pytest.raises(Forbidden):
        policy.require_clip(people["viewer share"], world.clip, "send")
    with pytest.raises(NotFound):
        policy.require_reel(people["admin (not shared)"], world.reel)
    with pytest.raises(ValueError, match="Unknown lesson action"):
        policy.can(people["owner"], "fly", lesson)


API_ROLES = [r for r in ROLES if r not in ("anonymous", "deactivated commenter")]


@pytest.mark.parametrize("role", API_ROLES)
def test_api_follows_the_table(world, api_as, role):
    api = api_as(world.people[role])
    lesson = world.lesson
    # allowed: 2xx; seen but not allowed: 403; not visible: 404 (never a hint that it exists)
    response = api.get(f"/api/v1/lessons/{lesson.id}")
    if role in SEES:
        assert response.status_code == 200 and response.json["can_delete"] is (role in TABLE["lesson: delete"])
        assert response.json["access"] == ("manage" if role == "owner" else "comment" if role in COMMENTS
                                           else "view")
    else:
        assert response.status_code == 404 and response.json["error"]["code"] == "not_found"
    patched = api.patch(f"/api/v1/lessons/{lesson.id}", json={"title": "Renamed"})
    assert patched.status_code == (200 if role == "owner" else 403 if role in SEES else 404)
    listed = {item["id"] for item in api.get("/api/v1/lessons").json["items"]}
    assert (lesson.id in listed) is (role in SEES)

    for name, note in world.notes.items():
        got = api.get(f"/api/v1/annotations/{note.id}").status_code
        assert got == (200 if role in TABLE[f"annotation: see {name}"] else 404), name
    if role in SEES:
        listed = {a["body"] for a in api.get(f"/api/v1/lessons/{lesson.id}/annotations").json["items"]}
        assert listed == {name for name in world.notes if role in TABLE[f"annotation: see {name}"]}
        hidden = api.post(f"/api/v1/annotations/{world.notes['shared'].id}/hide")
        assert hidden.status_code == (200 if role in TABLE["annotation: hide"] else 403)

    clip_status = api.get(f"/api/v1/clips/{world.clip.id}").status_code
    assert clip_status == (200 if role in TABLE["clip: see"] else 404)
    deliveries = api.get(f"/api/v1/clips/{world.clip.id}/deliveries").status_code
    assert deliveries == (200 if role in TABLE["clip: retry, send, follow up"] else 403 if role in SEES else 404)
    assert api.get(f"/api/v1/reels/{world.reel.id}").status_code == (200 if role in TABLE["reel: see"] else 404)
    inbox = api.get("/api/v1/clips?for=me").json["items"]
    assert sorted((i["type"], i["id"]) for i in inbox) == (
        [("clip", world.clip.id), ("reel", world.reel.id)] if role in TABLE["inbox: a delivered clip"] else [])

    offered = api.get(f"/api/v1/lessons/{lesson.id}/frameworks")
    assert offered.status_code == (200 if role in SEES else 404)
    if role in SEES:
        assert offered.json["can_change"] is (role in TABLE["frameworks: choose for the lesson"])
    chosen = api.request("PUT", f"/api/v1/lessons/{lesson.id}/frameworks", json={"framework_ids": None})
    assert chosen.status_code == (200 if role in TABLE["frameworks: choose for the lesson"] else
                                  403 if role in SEES else 404)

    talk = api.get(f"/api/v1/lessons/{lesson.id}/talk")
    assert talk.status_code == (200 if role in TABLE["talk: see"] else 404)
    analyse = api.post(f"/api/v1/lessons/{lesson.id}/talk")
    assert analyse.status_code == (202 if role in TABLE["talk: analyse again"] else 403 if role in SEES else 404)

    mentorship = api.post("/api/v1/mentorships", json={"mentor_id": world.people["stranger"].id,
                                                       "mentee_id": world.people["viewer share"].id})
    assert mentorship.status_code == (201 if role in ADMINS else 403)

    audit = api.get(f"/api/v1/lessons/{lesson.id}/audit").status_code
    assert audit == (200 if role in TABLE["privacy: read the lesson's access log"] else 403 if role in SEES else 404)
    consent = api.request("PUT", f"/api/v1/lessons/{lesson.id}/consent", json={"pinned": True}).status_code
    assert consent == (200 if role in TABLE["privacy: set the lesson's consent"] else 403 if role in SEES else 404)
    assert api.get("/api/v1/audit").status_code == (
        200 if role in TABLE["admin: erase a person, read everyone's access log"] else 403)
    stranger = world.people["stranger"]
    owner = world.people["owner"]
    analytics = api.get(f"/api/v1/analytics/teachers/{owner.id}").status_code
    assert analytics == (200 if role in TABLE["evidence: the teacher's analytics and evidence reels"] else 404)
    school = api.get("/api/v1/analytics/school").status_code
    assert school == (200 if role in TABLE["analytics: the school's aggregates"] else 403)
    granted = api.request("PUT", f"/api/v1/leaders/{stranger.id}").status_code
    assert granted == (200 if role in TABLE["admin: grant the leader role"] else 403)
    erase = api.post(f"/api/v1/users/{stranger.id}/erase", json={"confirm": "not-their-address@x.test"})
    assert erase.status_code == (422 if role in TABLE["admin: erase a person, read everyone's access log"] else 403)
    onboarding = TABLE["admin: invite, import people, send reset links"]
    assert api.get("/api/v1/invites").status_code == (200 if role in onboarding else 403)
    imported = api.post("/api/v1/users/import", data={"dry_run": "true", "file": (io.BytesIO(
        b"email,name,role\nnew@school.test,New,teacher\n"), "p.csv")}, content_type="multipart/form-data")
    assert imported.status_code == (200 if role in onboarding else 403)
    assert api.post(f"/api/v1/users/{stranger.id}/password-reset").status_code == (
        201 if role in onboarding else 403)


@pytest.mark.parametrize("role", ["admin (not shared)", "stranger"])
def test_admin_pages_follow_the_table(world, browser_client, role):
    client = browser_client(world.people[role])
    for page in ("/admin/people", "/admin/people/import", "/admin/mentorships", "/admin/frameworks", "/admin/audit"):
        assert client.get(page).status_code == (200 if role in ADMINS else 403), page
