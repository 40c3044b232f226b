"""Where document files live: under generated names in instance/documents (or
DOCUMENTS_PATH), never under static/, never under a name the user chose.

An upload is first received into `.incoming/` (counted, hashed, size-limited), then
checked, then moved to its final generated name just before the transaction commits.
`staging()` removes whatever it wrote unless the commit went through, so a refused or
failed upload leaves neither a row nor a file.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _

from crm.documents.filetypes import Refused

CHUNK = 1024 * 1024
INCOMING = ".incoming"
STORED_NAME = re.compile(r"^[0-9a-f]{2}/[0-9a-f]{32}$")
# Room for the form's other fields and the multipart framing around the file.
FORM_MARGIN = 1024 * 1024


def documents_root() -> Path:
    """The folder holding document files (created on first use, mode 0700)."""
    configured = current_app.config.get("DOCUMENTS_PATH")
    instance = Path(current_app.instance_path)
    root = Path(configured) if configured else instance / "documents"
    if not root.is_absolute():
        root = instance / root
    root = root.resolve()
    static = Path(current_app.static_folder or "").resolve()
    if current_app.static_folder and (root == static or static in root.parents):
        raise RuntimeError("DOCUMENTS_PATH must not be inside the static folder")
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    return root


def max_bytes() -> int:
    return int(current_app.config["DOCUMENT_MAX_BYTES"])


def body_limit() -> int:
    """The largest request body an upload route reads: one file at the limit plus the form.

    Never below the app's MAX_CONTENT_LENGTH, so the file limit always sits under the body
    limit and a file just over it gets a message at the field rather than the 413 page.
    """
    return max(int(current_app.config.get("MAX_CONTENT_LENGTH") or 0), max_bytes() + FORM_MARGIN)


def path_for(stored_name: str) -> Path:
    """The file of a stored version; only names this module generated are accepted."""
    if not STORED_NAME.match(stored_name or ""):
        raise ValueError("not a generated document name")
    return documents_root() / stored_name


def human_size(size: int) -> str:
    from flask_babel import format_decimal

    if size < 1024:
        return _("%(num)s bytes", num=format_decimal(size))
    for unit, factor in (("KB", 1024), ("MB", 1024**2), ("GB", 1024**3)):
        if size < factor * 1024 or unit == "GB":
            return f"{format_decimal(round(size / factor, 1), format='#,##0.#')} {unit}"
    raise AssertionError("unreachable")


class StagedFile:
    """An upload on its way into the store: received, then published, then kept."""

    def __init__(self, root: Path):
        self.root = root
        self.part: Path | None = None
        self.final: Path | None = None
        self.stored_name: str | None = None
        self.kept = False
        self.size = 0
        self.sha256 = ""

    def receive(self, stream, limit: int) -> None:
        """Copy the upload to a private temporary file, hashing and counting it.

        Refused when it is empty or larger than `limit`; stops reading at the limit.
        """
        incoming = self.root / INCOMING
        incoming.mkdir(mode=0o700, exist_ok=True)
        self.part = incoming / f"{secrets.token_hex(16)}.part"
        digest = hashlib.sha256()
        size = 0
        fd = os.open(self.part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(CHUNK):
                size += len(chunk)
                if size > limit:
                    raise Refused(_("The file is larger than %(limit)s.", limit=human_size(limit)))
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise Refused(_("The file is empty."))
        self.size, self.sha256 = size, digest.hexdigest()

    def publish(self) -> str:
        """Move the received file to a new generated name; returns that name."""
        if self.part is None:
            raise RuntimeError("nothing received")
        token = secrets.token_hex(16)
        name = f"{token[:2]}/{token}"
        final = self.root / name
        final.parent.mkdir(mode=0o700, exist_ok=True)
        os.replace(self.part, final)
        self.part, self.final, self.stored_name = None, final, name
        return name

    def keep(self) -> None:
        """The transaction that refers to the file committed: it stays."""
        self.kept = True

    def discard(self) -> None:
        for path in (self.part, None if self.kept else self.final):
            if path is not None:
                path.unlink(missing_ok=True)
        self.part = None
        if not self.kept:
            self.final = None


@contextmanager
def staging():
    """A StagedFile removed on the way out unless `keep()` was called."""
    staged = StagedFile(documents_root())
    try:
        yield staged
    finally:
        staged.discard()
