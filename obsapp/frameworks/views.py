"""Admin pages: the school's frameworks (import, export, retire), each one's criteria (names, colours, keys), and
the field-by-field builder that makes a new framework or a new version of one."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from obsapp import policy
from obsapp.errors import InvalidInput, ObsError
from obsapp.frameworks import services

bp = Blueprint("frameworks", __name__, template_folder="templates")


@bp.before_request
@login_required
def _admins_only():
    if not policy.is_admin(current_user):
        abort(403)


@bp.route("/admin/frameworks", methods=["GET", "POST"])
def admin_list():
    if request.method == "POST":
        upload = request.files.get("file")
        raw = upload.read() if upload is not None and upload.filename else request.form.get("document", "").encode()
        if not raw.strip():
            flash("Choose a YAML or JSON file, or paste the document.", "error")
        else:
            try:
                framework = services.import_framework(current_user, raw.decode("utf-8-sig"))
                flash(f"Imported {framework.name} (version {framework.version}, "
                      f"{len(framework.criteria)} criteria).", "success")
                return redirect(url_for("frameworks.admin_list"))
            except UnicodeDecodeError:
                flash("The file is not UTF-8 text.", "error")
            except ObsError as exc:
                problems = (exc.fields or {}).get("document") or [exc.message]
                return render_template("frameworks/admin_list.html", frameworks=services.list_frameworks(True),
                                       problems=problems, document=raw.decode("utf-8", "replace")), 422
    return render_template("frameworks/admin_list.html", frameworks=services.list_frameworks(True),
                           problems=None, document="")


@bp.route("/admin/frameworks/<int:framework_id>/status", methods=["POST"])
def admin_status(framework_id: int):
    framework = services.get_framework(framework_id)
    retire = request.form.get("action") == "retire"
    try:
        services.update_framework(current_user, framework, {"retired": retire})
        flash(f"{framework.name} v{framework.version} is " + ("retired: it is no longer offered, and old feedback "
              "keeps its criteria." if retire else "offered again."), "success")
    except ObsError as exc:
        flash(exc.message, "error")
    return redirect(url_for("frameworks.admin_list"))


@bp.route("/admin/frameworks/<int:framework_id>", methods=["GET", "POST"])
def admin_edit(framework_id: int):
    framework = services.get_framework(framework_id)
    problems: dict = {}
    values: dict[int, dict] = {}
    status = 200
    if request.method == "POST":
        changes = {}
        for criterion in framework.criteria:
            prefix = f"c{criterion.id}-"
            if f"{prefix}name" not in request.form:
                continue
            changes[criterion.id] = {
                "name": request.form.get(f"{prefix}name", ""),
                "description": request.form.get(f"{prefix}description", ""),
                "color": request.form.get(f"{prefix}color", ""),
                "hotkey": request.form.get(f"{prefix}hotkey", ""),
            }
        name = request.form.get("framework_name", "").strip()
        try:
            if not name:
                raise InvalidInput("The framework needs a name.", fields={"framework": ["needs a name"]})
            services.update_criteria(current_user, framework, changes)
            if name != framework.name:
                services.update_framework(current_user, framework, {"name": name})
            flash(f"Saved {framework.name}.", "success")
            return redirect(url_for("frameworks.admin_edit", framework_id=framework.id))
        except ObsError as exc:
            flash(exc.message, "error")
            problems = exc.fields or {}
            values = changes
            status = 422
    return render_template("frameworks/admin_edit.html", framework=framework, problems=problems,
                           values=values, reserved=sorted(services.RESERVED_KEYS)), status


# The field-by-field builder --------------------------------------------------------------------------------
# It works without JavaScript: adding, moving and removing are submit buttons (``op``) that send the whole form
# back and get it again changed, focus on the field the change concerns. With JavaScript (builder.js) the form is
# checked as one types (``op=check`` answered as JSON) and the preview follows.

MAX_PROCESSES, MAX_CRITERIA = 60, 100


def _item_from_form(prefix: str) -> dict:
    item = {field: request.form.get(f"{prefix}-{field}", "")[:2000] for field in services.BUILDER_TEXT_FIELDS}
    item["from_id"] = request.form.get(f"{prefix}-from", type=int)
    return item


def _document_from_form(editing) -> dict:
    document = {"slug": editing.slug if editing else request.form.get("slug", "").strip(),
                "name": request.form.get("name", ""), "description": request.form.get("description", ""),
                "processes": []}
    for p in range(MAX_PROCESSES):
        if f"p{p}-code" not in request.form:
            break
        process = _item_from_form(f"p{p}")
        process["criteria"] = [_item_from_form(f"p{p}-c{n}") for n in range(MAX_CRITERIA)
                               if f"p{p}-c{n}-code" in request.form]
        document["processes"].append(process)
    return document


def _label(item: dict, fallback: str) -> str:
    return " ".join(x for x in (item.get("code", "").strip(), item.get("name", "").strip()) if x) or fallback


def _move_focus(kind: str, to: int, count: int, within: str) -> str:
    """The moved item's button to focus: the same direction's, or the other one's once it reached an end."""
    direction, what = kind.split("-")
    if (direction == "up" and to == 0) or (direction == "down" and to == count - 1):
        direction = "down" if direction == "up" else "up"
    return f"{direction}-{what}{within}-{to}"


def _apply_op(document: dict, op: str, usage: dict[int, int]) -> tuple[str, str]:
    """Change the draft as the pressed button says: (what happened, the id of the field to focus)."""
    processes = document["processes"]
    parts = op.split("-")
    try:
        numbers = [int(x) for x in parts[2:]]
    except ValueError:
        return "", ""
    kind = "-".join(parts[:2])
    if kind == "add-process" and not numbers:
        if len(processes) >= MAX_PROCESSES:
            return f"A framework has at most {MAX_PROCESSES} processes.", ""
        processes.append({**services.blank_criterion(), "color": "#3b5fc0", "criteria": []})
        return f"Added process {len(processes)}.", f"p{len(processes) - 1}-code"
    if not numbers or numbers[0] >= len(processes) or numbers[0] < 0:
        return "", ""
    p = numbers[0]
    process = processes[p]
    if kind == "add-criterion" and len(numbers) == 1:
        if len(process["criteria"]) >= MAX_CRITERIA:
            return f"A process has at most {MAX_CRITERIA} criteria.", ""
        process["criteria"].append(services.blank_criterion())
        return (f"Added criterion {len(process['criteria'])} to process {p + 1}.",
                f"p{p}-c{len(process['criteria']) - 1}-code")
    if kind in ("up-process", "down-process", "remove-process") and len(numbers) == 1:
        if kind == "remove-process":
            del processes[p]
            used = sum(usage.get(i["from_id"], 0) for i in [process, *process["criteria"]] if i["from_id"])
            return (f"Removed process {_label(process, str(p + 1))} and its criteria from the draft." + (
                f" Its criteria tag {used} annotations or goals: they keep them, archived with this version, "
                "when you save." if used else ""), "add-process")
        to = p - 1 if kind == "up-process" else p + 1
        if not 0 <= to < len(processes):
            return "", f"{kind}-{p}"
        processes[p], processes[to] = processes[to], processes[p]
        return f"Moved process {_label(process, '')} to place {to + 1}.", _move_focus(kind, to, len(processes), "")
    if len(numbers) != 2 or not 0 <= numbers[1] < len(process["criteria"]):
        return "", ""
    n = numbers[1]
    criteria = process["criteria"]
    criterion = criteria[n]
    if kind == "remove-criterion":
        del criteria[n]
        used = usage.get(criterion["from_id"], 0) if criterion["from_id"] else 0
        return (f"Removed criterion {_label(criterion, str(n + 1))} from the draft." + (
            f" It tags {used} annotations or goals: they keep it, archived with this version, when you save."
            if used else ""), f"add-criterion-{p}")
    if kind in ("up-criterion", "down-criterion"):
        to = n - 1 if kind == "up-criterion" else n + 1
        if not 0 <= to < len(criteria):
            return "", f"{kind}-{p}-{n}"
        criteria[n], criteria[to] = criteria[to], criteria[n]
        return (f"Moved criterion {_label(criterion, '')} to place {to + 1} in process {p + 1}.",
                _move_focus(kind, to, len(criteria), f"-{p}"))
    return "", ""


def _builder(editing):
    usage = services.criteria_usage(editing) if editing else {}
    status, problems, message, focus = 200, {}, "", ""
    if request.method == "GET":
        document = services.builder_document(editing) if editing else services.new_builder_document()
    else:
        document = _document_from_form(editing)
        op = request.form.get("op", "check")
        if op == "save":
            try:
                framework = services.save_built_framework(current_user, document, editing)
                flash(f"Saved {framework.name} (version {framework.version}, {len(framework.criteria)} criteria)."
                      + (f" Version {editing.version} is archived; what its criteria tag keeps them." if editing
                         else ""), "success")
                return redirect(url_for("frameworks.admin_list"))
            except ObsError as exc:
                problems = {k: v[0] for k, v in (exc.fields or {}).items()} or {"form": exc.message}
                message, status = "Nothing was saved: fix the fields marked below.", 422
        elif op == "check":
            problems = services.builder_problems(document, editing=editing)
            if request.accept_mimetypes.best == "application/json":
                return jsonify({"problems": problems, "preview": render_template(
                    "frameworks/_builder_preview.html", document=document)})
            message = "No problems found." if not problems else f"{len(problems)} problems to fix."
        else:
            message, focus = _apply_op(document, op, usage)
    return render_template("frameworks/builder.html", document=document, editing=editing, problems=problems,
                           message=message, focus=focus, usage=usage, status=status,
                           reserved=sorted(services.RESERVED_KEYS)), status


@bp.route("/admin/frameworks/new", methods=["GET", "POST"])
def builder_new():
    return _builder(None)


@bp.route("/admin/frameworks/<int:framework_id>/build", methods=["GET", "POST"])
def builder_edit(framework_id: int):
    framework = services.get_framework(framework_id)
    try:
        return _builder(framework)
    except InvalidInput as exc:  # three levels deep: the builder can't show it
        flash(exc.message, "error")
        return redirect(url_for("frameworks.admin_list"))
