"""JSON API: teaching-practice frameworks and their criteria."""

from flask_smorest import Blueprint

from obsapp.frameworks import services
from obsapp.frameworks.schemas import FrameworkListSchema, FrameworkQuerySchema, FrameworkSchema

blp = Blueprint("frameworks_api", __name__, url_prefix="/api/v1", description="Teaching-practice frameworks")


def payload(framework):
    return {"id": framework.id, "slug": framework.slug, "name": framework.name, "version": framework.version,
            "description": framework.description, "retired": framework.retired_at is not None,
            "criteria": framework.criteria}


@blp.route("/frameworks")
@blp.arguments(FrameworkQuerySchema, location="query")
@blp.response(200, FrameworkListSchema)
def list_frameworks(args):
    """Frameworks whose criteria can tag annotations (built in: stp, rosenshine)."""
    return {"items": [payload(f) for f in services.list_frameworks(args["include_retired"])], "next": None}


@blp.route("/frameworks/<int:framework_id>")
@blp.response(200, FrameworkSchema)
def get_framework(framework_id):
    """One framework with its tree of criteria (``parent_id`` links an area to its process)."""
    return payload(services.get_framework(framework_id))
