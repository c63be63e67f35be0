"""Reading and writing JSONL record files (the schema is in `verifiers.types`).

A malformed line is an error that names the file and the 1-based line; output files are written
to a temporary name and renamed at the end, so a failed run never leaves a half-written file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from verifiers.errors import RecordError
from verifiers.types import Sample

__all__ = ["AtomicJsonlWriter", "iter_records", "read_samples"]


def iter_records(path: str | Path, stream: IO[str] | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, record)`` for each non-blank line; raise RecordError naming file and line."""
    name = str(path)
    fh = stream if stream is not None else open(path, encoding="utf-8")  # noqa: SIM115
    try:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise RecordError(
                    f"not valid JSON ({exc.msg} at column {exc.colno}); each line must be one JSON object",
                    path=name,
                    line=lineno,
                ) from None
            if not isinstance(record, dict):
                raise RecordError(
                    f"expected a JSON object, got {type(record).__name__}", path=name, line=lineno
                )
            yield lineno, record
    except UnicodeDecodeError as exc:
        raise RecordError(f"file is not UTF-8 text: {exc}", path=name, line=None) from None
    finally:
        if stream is None:
            fh.close()


def read_samples(path: str | Path, stream: IO[str] | None = None) -> list[tuple[dict[str, Any], Sample]]:
    """Read a whole JSONL file as ``(record, Sample)`` pairs, validating every line before returning."""
    out = []
    for lineno, record in iter_records(path, stream):
        try:
            out.append((record, Sample.from_record(record)))
        except ValueError as exc:
            raise RecordError(str(exc), path=str(path), line=lineno) from None
    return out


class AtomicJsonlWriter:
    """Write JSON lines to ``<path>.partial`` and rename to `path` on `commit`; `abort` removes it.

    With path "-" lines go to stdout directly (a caller validates input first, so a failure there
    is an infrastructure fault, reported as such).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path == "-":
            import sys

            self._fh: IO[str] = sys.stdout
            self._tmp: str | None = None
        else:
            directory = os.path.dirname(os.path.abspath(self.path))
            fd, self._tmp = tempfile.mkstemp(prefix=os.path.basename(self.path) + ".", suffix=".partial", dir=directory)
            self._fh = os.fdopen(fd, "w", encoding="utf-8")

    def write(self, record: dict[str, Any]) -> None:
        self._fh.write(json.dumps(record, ensure_ascii=False) + "\n")

    def write_all(self, records: Iterable[dict[str, Any]]) -> None:
        for r in records:
            self.write(r)

    def commit(self) -> None:
        self._fh.flush()
        if self._tmp is not None:
            os.fsync(self._fh.fileno())
            self._fh.close()
            os.replace(self._tmp, self.path)
            self._tmp = None

    def abort(self) -> None:
        if self._tmp is not None:
            self._fh.close()
            try:
                os.unlink(self._tmp)
            except FileNotFoundError:
                pass
            self._tmp = None
