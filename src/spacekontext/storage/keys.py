"""Object keys and stored names.

Every object of a user lives under `users/{userId}/`, every object of a project under
`users/{userId}/projects/{projectId}/`, so that deleting a user or a project is one prefix
deletion and an IAM policy can be scoped to a prefix."""

from __future__ import annotations

import re
import unicodedata

from spacekontext.errors import Invalid

MAX_NAME_CHARS = 255
# The stored name is a short, boring ASCII name: it ends up in URLs, keys and
# Content-Disposition headers, where anything else invites trouble.
MAX_SAFE_NAME_CHARS = 100
_CATEGORY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9._-]+")


def user_prefix(user_id: str) -> str:
    return f"users/{user_id}/"


def project_prefix(user_id: str, project_id: str) -> str:
    return f"users/{user_id}/projects/{project_id}/"


def file_key(user_id: str, project_id: str, category: str, file_id: str, safe_name: str) -> str:
    return f"{project_prefix(user_id, project_id)}{category}/{file_id}-{safe_name}"


def scratch_key(user_id: str, category: str, file_id: str, safe_name: str) -> str:
    """A file of no project: the user's scratch space (the web client's `projectId=temp`)."""
    return f"{user_prefix(user_id)}scratch/{category}/{file_id}-{safe_name}"


def staging_key(key: str) -> str:
    """Where a direct upload to `key` is written by its presigned URL. `complete` moves the
    object to `key` before checking it, so the URL, still valid until it expires, can only
    ever write here again, never replace what was checked. Under the same prefix as `key` (a
    project's or user's deletion takes it along); `_staging` cannot be a category name."""
    folder, _, name = key.rpartition("/")
    return f"{folder}/_staging/{name}"


def check_category(category: str) -> str:
    if not _CATEGORY.fullmatch(category):
        raise Invalid(
            "category must be 1-64 characters of a-z, 0-9, '_' or '-'", code="invalid_category"
        )
    return category


def safe_name(original: str) -> str:
    """The name under which a file is stored. Names that try something (path separators,
    control characters, `..`, absurd lengths) are refused outright rather than quietly
    rewritten: a client that sends them is buggy or hostile, and either should hear about it."""
    if not original or not original.strip():
        raise Invalid("the file name is empty", code="invalid_filename")
    if len(original) > MAX_NAME_CHARS:
        raise Invalid(
            f"the file name is longer than {MAX_NAME_CHARS} characters", code="invalid_filename"
        )
    if "/" in original or "\\" in original:
        raise Invalid("the file name contains a path separator", code="invalid_filename")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in original):
        raise Invalid("the file name contains control characters", code="invalid_filename")
    if ".." in original or original.strip(" .") == "":
        raise Invalid("the file name contains '..'", code="invalid_filename")
    # Decompose accents so that "Façade.dxf" becomes "Facade.dxf" rather than "Fa_ade.dxf".
    ascii_name = unicodedata.normalize("NFKD", original).encode("ascii", "ignore").decode()
    cleaned = _UNSAFE_RUN.sub("_", ascii_name).strip("._-") or "file"
    stem, dot, ext = cleaned.rpartition(".")
    if not dot:
        stem, ext = cleaned, ""
    ext = ext[:16]
    room = MAX_SAFE_NAME_CHARS - (len(ext) + 1 if ext else 0)
    stem = (stem or "file")[:room].rstrip("._-") or "file"
    return f"{stem}.{ext}" if ext else stem


def extension_of(name: str) -> str:
    _, dot, ext = name.rpartition(".")
    return ext.lower() if dot else ""
