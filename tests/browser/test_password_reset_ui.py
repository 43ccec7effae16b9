"""Forgot password on a phone-sized screen (390x844), in Chromium, against a server that sends real email (its
own obsapp process pointed at an aiosmtpd server): ask for the link, open it from the email, set a password,
sign in with it; the used link then says so."""

from __future__ import annotations

import os
import re
import subprocess

import pytest
from aiosmtpd.controller import Controller

from tests.browser.axe import axe_violations
from tests.conftest import PASSWORD, VENV_BIN, _free_port, storage_settings
from tests.mentoring.conftest import Inbox
from tests.servers import database as test_database
from tests.waiting import wait_for_server

pytestmark = pytest.mark.browser
NEW = "phone-typed passphrase"


@pytest.fixture(scope="module")
def mail_server(request, tmp_path_factory):
    """(url, inbox): an obsapp server whose OBSAPP_SMTP_URL is a real local SMTP server."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    base = tmp_path_factory.mktemp("reset-live")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, **storage_settings(request, env=True),
           "OBSAPP_INSTANCE_PATH": str(base / "instance"), "OBSAPP_MEDIA_ROOT": str(base / "media"),
           "OBSAPP_DATABASE_URL": test_database.new_database_url(base, "reset"), "OBSAPP_JOB_WORKERS": "1",
           "OBSAPP_LOG_LEVEL": "WARNING", "OBSAPP_SMTP_URL": f"smtp://127.0.0.1:{smtp.port}",
           "OBSAPP_MAIL_FROM": "obsapp@school.test", "OBSAPP_PUBLIC_URL": url}
    obsapp = str(VENV_BIN / "obsapp")
    subprocess.run([obsapp, "init"], env=env, check=True, capture_output=True, timeout=120)
    subprocess.run([obsapp, "users", "create", "dina@school.test", "--name", "Dina Park", "--password", PASSWORD],
                   env=env, check=True, capture_output=True, timeout=60)
    log = (base / "server.log").open("w")
    process = subprocess.Popen([obsapp, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        wait_for_server(url, process, base / "server.log")
        yield url, inbox
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
        smtp.stop()


def test_reset_by_email_on_a_phone(page, mail_server):
    url, inbox = mail_server
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(url + "/login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.wait_for_url(url + "/forgot-password")
    assert axe_violations(page, impacts=("serious", "critical")) == []
    page.get_by_label("Email").fill("dina@school.test")
    page.get_by_role("button", name="Email me a link").click()
    assert page.get_by_text("If an account uses that address").is_visible()

    [message] = inbox.wait_for(1)
    link = re.search(r"http://127\.0\.0\.1:\d+/reset/\S+", message.get_content()).group(0)
    page.goto(link)
    assert page.get_by_text("Dina Park").is_visible()
    assert axe_violations(page, impacts=("serious", "critical")) == []
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    page.get_by_role("button", name="Set new password").click()
    page.wait_for_url(url + "/login")
    assert page.get_by_text("Your password is changed").is_visible()

    page.get_by_label("Email").fill("dina@school.test")
    page.get_by_label("Password").fill(NEW)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(url + "/")
    assert page.get_by_role("heading", name="Hello, Dina Park").is_visible()

    page.goto(link)  # spent
    assert page.get_by_text("not valid any more").is_visible()
    assert page.get_by_role("link", name="Ask for a new link").is_visible()
    assert page.errors == [] and page.csp_violations == []
