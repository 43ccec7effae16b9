"""Admin pages: the school's frameworks (import, export, retire) and each one's criteria (names, colours, keys)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
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
