"""Content-addressed store for generated documents (welcome letters, invoices, notices).

A document is stored under the SHA-256 of its bytes, so the hash recorded in the database is both the key
and a checksum: the same bytes are stored once, a document can never change behind its record, and a
damaged file is detected on read instead of being sent to a customer.

``LocalFileStore`` keeps one file per document under ``root/ab/cd/<sha256>``; the two fan-out levels keep
directories small (65 536 leaf directories) on file systems that slow down with large directories.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

import msgspec

from gateway.errors import NotFound, ProudError, TransientError

# The largest document proud generates or accepts: a long invoice with annexes is a few MiB, so a larger
# one is a bug or an attack, and a whole document is held in memory while it is hashed.
DOCUMENT_BYTES_MAX = 25 * 1024 * 1024
SHA256_HEX_LENGTH = 64
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
# A value that should have been a hash may be anything (a pasted document, a path); keep messages short.
_SHOWN_CHARS_MAX = 80
_TEMPORARY_PREFIX = ".tmp-"
_READ_CHUNK_BYTES = 1024 * 1024
# Failures a later attempt may not hit: a full disk can be cleaned up, an NFS mount can come back.
_TRANSIENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EAGAIN, errno.EINTR, errno.ESTALE, errno.ETIMEDOUT}
)


class StoredFile(msgspec.Struct, frozen=True, kw_only=True):
    """Where a document went: its key (lower-case hex SHA-256) and its length."""

    sha256: str
    size_bytes: int


class DocumentTooLarge(ProudError):
    """The content exceeds ``DOCUMENT_BYTES_MAX``; storing it again will not help."""

    def __init__(self, size_bytes: int) -> None:
        super().__init__(
            f"document of {size_bytes} bytes exceeds DOCUMENT_BYTES_MAX ({DOCUMENT_BYTES_MAX} bytes)"
        )
        self.size_bytes = size_bytes


class InvalidDocumentHash(ProudError):
    """A document key is not 64 lower-case hex digits (this also rules out any path in the key)."""

    def __init__(self, value: object) -> None:
        shown = repr(value)
        if len(shown) > _SHOWN_CHARS_MAX:
            shown = f"{shown[:_SHOWN_CHARS_MAX]}… ({len(shown)} characters)"
        super().__init__(f"document hash {shown} is not {SHA256_HEX_LENGTH} lower-case hex digits")
        self.value = value


class DocumentNotFound(NotFound):
    """No document is stored under the hash."""

    def __init__(self, sha256: str) -> None:
        super().__init__(f"no document stored under sha256 {sha256}")
        self.sha256 = sha256


class CorruptDocument(ProudError):
    """The stored bytes no longer hash to their key. Reading again returns the same damaged bytes."""

    retryable = False

    def __init__(self, sha256: str, path: Path, reason: str) -> None:
        super().__init__(f"document {sha256} at {path} is corrupt: {reason}")
        self.sha256 = sha256
        self.path = path
        self.reason = reason


class FileStoreFailed(ProudError):
    """The file system refused an operation for a reason that will persist (permissions, read-only)."""

    def __init__(self, operation: str, path: Path, error: OSError) -> None:
        super().__init__(f"file store {operation} failed at {path}: {error.strerror or error}")
        self.operation = operation
        self.path = path


class FileStoreUnavailable(TransientError):
    """The file system failed in a way that may clear up (disk full, I/O error, stale mount)."""

    def __init__(self, operation: str, path: Path, error: OSError) -> None:
        super().__init__(f"file store {operation} failed at {path}: {error.strerror or error}")
        self.operation = operation
        self.path = path


class FileStore(Protocol):
    """Where documents are kept, addressed by the SHA-256 of their bytes."""

    async def put(self, content: bytes) -> StoredFile:
        """Store ``content`` (at most ``DOCUMENT_BYTES_MAX``) once; the same bytes give the same key."""
        ...

    async def get(self, sha256: str) -> bytes:
        """The bytes stored under ``sha256``; raises ``NotFound`` naming the hash if there are none."""
        ...

    async def exists(self, sha256: str) -> bool:
        """Whether a document is stored under ``sha256``."""
        ...


def require_sha256(value: object) -> str:
    """``value`` if it is 64 lower-case hex digits, else ``InvalidDocumentHash``.

    The key becomes a file name, so this is the check that keeps ``../`` and absolute paths out.
    """
    if not isinstance(value, str) or _SHA256_HEX.fullmatch(value) is None:
        raise InvalidDocumentHash(value)
    return value


def _translate_os_error(operation: str, path: Path, error: OSError) -> ProudError:
    if error.errno in _TRANSIENT_ERRNOS:
        return FileStoreUnavailable(operation, path, error)
    return FileStoreFailed(operation, path, error)


class LocalFileStore:
    """Documents as files below ``root`` (created on first write), one file per distinct content.

    Writes are atomic: a temporary file in the target directory is written, flushed to disk and renamed
    over the final name, so a reader sees either no file or the whole document, also after a crash.
    Concurrent writers of the same content each rename their own complete copy; the last one wins and
    the result is the same. Files are created with mode 0600 (``mkstemp``): documents hold personal data.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path_for(self, sha256: str) -> Path:
        """The file a document with this key lives in (whether or not it exists)."""
        key = require_sha256(sha256)
        return self.root / key[0:2] / key[2:4] / key

    async def put(self, content: bytes) -> StoredFile:
        if len(content) > DOCUMENT_BYTES_MAX:
            raise DocumentTooLarge(len(content))
        # Hashing 25 MiB takes tens of milliseconds: off the event loop along with the file I/O.
        return await asyncio.to_thread(self._put_blocking, content)

    async def get(self, sha256: str) -> bytes:
        path = self.path_for(sha256)
        return await asyncio.to_thread(self._get_blocking, sha256, path)

    async def exists(self, sha256: str) -> bool:
        path = self.path_for(sha256)
        return await asyncio.to_thread(path.is_file)

    def _put_blocking(self, content: bytes) -> StoredFile:
        sha256 = hashlib.sha256(content).hexdigest()
        stored = StoredFile(sha256=sha256, size_bytes=len(content))
        path = self.path_for(sha256)
        try:
            if self._is_intact(path, stored):
                return stored
            path.parent.mkdir(parents=True, exist_ok=True)
            self._write_atomically(path, content)
        except OSError as exc:
            raise _translate_os_error("put", path, exc) from exc
        return stored

    def _is_intact(self, path: Path, stored: StoredFile) -> bool:
        """Whether ``path`` already holds exactly these bytes; a damaged copy is overwritten by the put."""
        try:
            if path.stat().st_size != stored.size_bytes:
                return False
        except FileNotFoundError:
            return False
        return _sha256_of_file(path) == stored.sha256

    def _write_atomically(self, path: Path, content: bytes) -> None:
        descriptor, temporary_name = tempfile.mkstemp(prefix=_TEMPORARY_PREFIX, dir=path.parent)
        temporary = Path(temporary_name)
        try:
            with os.fdopen(descriptor, "wb") as file:
                file.write(content)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        # The rename itself is only durable once the directory entry is on disk.
        _fsync_directory(path.parent)

    def _get_blocking(self, sha256: str, path: Path) -> bytes:
        try:
            size_bytes = path.stat().st_size
            if size_bytes > DOCUMENT_BYTES_MAX:
                # Never written by put: do not read an arbitrarily large file into memory to find that out.
                raise CorruptDocument(sha256, path, f"{size_bytes} bytes exceeds DOCUMENT_BYTES_MAX")
            content = path.read_bytes()
        except FileNotFoundError as exc:
            raise DocumentNotFound(sha256) from exc
        except OSError as exc:
            raise _translate_os_error("get", path, exc) from exc
        actual = hashlib.sha256(content).hexdigest()
        if actual != sha256:
            raise CorruptDocument(sha256, path, f"content hashes to {actual} ({len(content)} bytes)")
        return content


def _sha256_of_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_READ_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
