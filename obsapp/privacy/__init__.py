"""Privacy of classroom video: consent per lesson (and the face blurring it forces), the access audit, deleting
every copy of a lesson, retention and erasing a person (docs/privacy.md)."""
