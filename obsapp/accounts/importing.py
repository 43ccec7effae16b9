"""People and mentorships from a CSV file (columns email,name,role,mentor_email): a dry run says what would
change and which lines are wrong; the real run does all of it in the request's one transaction, or nothing.
New people get invitations (emailed when email is set up), never passwords."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from sqlalchemy import select

from obsapp.accounts import services
from obsapp.accounts.models import Mentorship, User
from obsapp.errors import InvalidInput
from obsapp.extensions import db

MAX_BYTES = 1024 * 1024  # about 10,000 people: far more than a school
MAX_ROWS = 10_000
ROLES = ("teacher", "mentor", "admin")
COLUMNS = ("email", "name", "role", "mentor_email")


@dataclass
class Plan:
    created: list[dict] = field(default_factory=list)
    unchanged: list[dict] = field(default_factory=list)
    mentorships_added: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    invites_emailed: int = 0

    def error(self, line: int, message: str) -> None:
        self.errors.append({"line": line, "message": message})


def decode(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise InvalidInput(f"The file is larger than {MAX_BYTES // 1024} KB: split it.", code="too_large",
                           fields={"file": ["Too large."]})
    try:
        return data.decode("utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # Excel's plain "CSV" on Windows


def _rows(text: str) -> list[tuple[int, dict]]:
    try:
        dialect = csv.Sniffer().sniff(text[:4096].split("\n", 1)[0] or ",", delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader, None)
        if header is None:
            raise InvalidInput("The file is empty.", fields={"file": ["Empty."]})
        names = [h.strip().lower() for h in header]
        missing = [c for c in COLUMNS[:3] if c not in names]
        if missing:
            raise InvalidInput(f"Line 1 must name the columns email,name,role,mentor_email (missing: "
                               f"{', '.join(missing)}).", fields={"file": ["Line 1: missing columns."]})
        rows = []
        for values in reader:
            if not any(v.strip() for v in values):
                continue
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"At most {MAX_ROWS} people in one file.", fields={"file": ["Too many rows."]})
            row = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(names)}
            rows.append((reader.line_num, row))
    except csv.Error as exc:
        raise InvalidInput(f"Line {reader.line_num}: not readable as CSV ({exc}).",
                           fields={"file": [f"Line {reader.line_num}: {exc}"]}) from exc
    return rows


def plan(data: bytes) -> tuple[Plan, list[tuple[int, dict]]]:
    """What the file would change, with line-numbered errors; changes nothing."""
    rows = _rows(decode(data))
    result = Plan()
    emails = [services.normalise_email(row.get("email", "")) for _, row in rows]
    existing = {u.email: u for u in db.session.execute(
        select(User).where(User.email.in_([e for e in emails if e] + [
            services.normalise_email(r.get("mentor_email", "")) for _, r in rows if r.get("mentor_email")]))
    ).scalars()}
    seen: dict[str, int] = {}
    good: list[tuple[int, dict]] = []
    for line, row in rows:
        email = services.normalise_email(row.get("email", ""))
        name, role = row.get("name", ""), (row.get("role", "") or "teacher").lower()
        mentor_email = services.normalise_email(row.get("mentor_email", ""))
        if not services.EMAIL_RE.match(email) or len(email) > services.MAX_EMAIL:
            result.error(line, f"{row.get('email', '')!r} is not an email address.")
            continue
        if email in seen:
            result.error(line, f"{email} is already on line {seen[email]}.")
            continue
        seen[email] = line
        if role not in ROLES:
            result.error(line, f"Role {row.get('role')!r} is not one of teacher, mentor or admin.")
            continue
        if email not in existing and not name:
            result.error(line, f"Give {email}'s name.")
            continue
        if mentor_email:
            if mentor_email == email:
                result.error(line, f"{email} cannot mentor themselves.")
                continue
            if mentor_email not in existing and mentor_email not in emails:
                result.error(line, f"Unknown mentor {mentor_email}: not in the file and no account has it.")
                continue
            inactive = [e for e in (email, mentor_email) if e in existing and not existing[e].active]
            if inactive:
                result.error(line, f"{inactive[0]}'s account is deactivated: no mentorship can be added.")
                continue
        good.append((line, {"email": email, "name": name[:120], "role": role, "mentor_email": mentor_email}))
    for line, row in good:
        user = existing.get(row["email"])
        if user is None:
            result.created.append({"line": line, "email": row["email"], "name": row["name"], "role": row["role"]})
        else:
            result.unchanged.append({"line": line, "email": row["email"], "name": user.name})
        mentor = existing.get(row["mentor_email"])
        if row["mentor_email"] and not (user is not None and mentor is not None and db.session.execute(
                select(Mentorship.id).where(Mentorship.mentor_id == mentor.id, Mentorship.mentee_id == user.id,
                                            Mentorship.ended_at.is_(None))).first()):
            result.mentorships_added.append({"line": line, "mentor_email": row["mentor_email"],
                                             "mentee_email": row["email"]})
    for item in result.mentorships_added:  # a mentor named in the file but whose own line is wrong
        if item["mentor_email"] not in existing and item["mentor_email"] not in {c["email"] for c in result.created}:
            result.error(item["line"], f"Mentor {item['mentor_email']} is not imported (see their line).")
    result.errors.sort(key=lambda e: e["line"])
    return result, good


def run(actor: User | None, data: bytes, *, dry_run: bool) -> Plan:
    """Dry run: the plan. Real run: every change in the caller's transaction, refused whole if any line is wrong."""
    services.require_admin(actor)
    result, good = plan(data)
    if dry_run or result.errors:
        return result
    users: dict[str, User] = {}
    for row in result.created:
        user, _, _, emailed = services.invite_user(actor, email=row["email"], name=row["name"],
                                                   is_admin=row["role"] == "admin")
        users[user.email] = user
        result.invites_emailed += int(emailed)
    for item in result.mentorships_added:
        mentor = users.get(item["mentor_email"]) or services.get_user_by_email(item["mentor_email"])
        mentee = users.get(item["mentee_email"]) or services.get_user_by_email(item["mentee_email"])
        services.create_mentorship(actor, mentor, mentee)
    return result
