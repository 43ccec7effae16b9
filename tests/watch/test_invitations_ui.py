"""Inviting someone to watch together, in two real browsers against a real `obsapp serve`: the host picks a person
on the watch page, the person's bell shows the invitation, and opening it joins the session (both are present)."""

from __future__ import annotations

import pytest

from tests.browser.csp import close_checked, new_tracked_page
from tests.watch.conftest import start_session

pytestmark = pytest.mark.browser


@pytest.fixture(name="pages")
def tracked_pages(browser):
    """pages() -> a page in its own browser context (one person each); CSP violations fail the test."""
    contexts: list = []
    made: list = []

    def make():
        made.append(new_tracked_page(browser, contexts))
        return made[-1]

    yield make
    close_checked(contexts, made)


def test_the_host_invites_a_viewer_whose_bell_shows_it_and_who_joins_from_it(
        make_person, lesson_of, watch_server, pages, sign_in):
    host, guest = make_person("Hana Host"), make_person("Gus Guest")
    lesson = lesson_of(host, shared_with=(guest,), title="Persuasive writing, Year 7")
    session = start_session(host, lesson["id"])
    a, b = pages(), pages()
    sign_in(a, watch_server, host.email)
    sign_in(b, watch_server, guest.email)
    assert b.get_by_role("link", name="Notifications, 0 unread").is_visible()

    a.goto(session["join_url"])
    a.get_by_role("list", name="People watching").get_by_text("Hana Host").wait_for()
    form = a.get_by_role("form", name="Invite people to watch")
    form.get_by_label("Gus Guest").check()
    form.get_by_role("button", name="Send invitations").click()
    form.get_by_role("status").filter(has_text="Invited: Gus Guest.").wait_for()
    assert form.get_by_label("Gus Guest").is_disabled()

    b.reload()
    bell = b.get_by_role("link", name="Notifications, 1 unread")
    bell.click()
    b.get_by_role("button", name="Hana Host invites you to watch “Persuasive writing, Year 7” together").click()
    b.wait_for_url(session["join_url"])
    for p in (a, b):
        people = p.get_by_role("list", name="People watching")
        people.get_by_text("Hana Host").wait_for()
        people.get_by_text("Gus Guest").wait_for()
    b.get_by_role("status").filter(has_text="Connected").wait_for()
    assert b.get_by_role("form", name="Invite people to watch").count() == 0  # the guest does not invite
    assert b.get_by_role("link", name="Notifications, 0 unread").is_visible()  # opening it marked it read

    a.once("dialog", lambda dialog: dialog.accept())
    a.get_by_role("button", name="End session").click()
    b.get_by_text("Hana Host ended this watch session.").wait_for()
    assert a.errors == [] and b.errors == []
    b.goto(watch_server.url + f"/watch/{session['session_id']}/invitation")
    b.get_by_role("heading", name="This invitation has expired").wait_for()
