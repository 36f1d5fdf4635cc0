"""What a replay reads: the non-blank lines of a JSONL(.gz) file, of every ``*.jsonl`` and
``*.jsonl.gz`` in a folder (name order), or of an iterable of lines, each with its file and
physical line number (for failure reports) and the bytes read so far (for progress). Kept apart
from replay.py, which paces the lines and sends them; nothing here parses or changes a line."""


from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path


def _is_jsonl(path: Path) -> bool:
    return path.name.endswith(".jsonl") or path.name.endswith(".jsonl.gz")


def input_files(path: str | Path) -> list[Path]:
    """The files a replay of ``path`` reads: the file itself, or a folder's ``*.jsonl`` and
    ``*.jsonl.gz`` files (not recursive) in name order."""
    path = Path(path)
    if path.is_dir():
        files = sorted((p for p in path.iterdir() if p.is_file() and _is_jsonl(p)), key=str)
        if not files:
            raise FileNotFoundError(f"no *.jsonl or *.jsonl.gz files in {path}")
        return files
    if not path.exists():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return [path]


class InputLines:
    """(file index, file label, 1-based physical line number, line without its ending);
    blank lines skipped. ``position``/``total`` are bytes on disk (compressed for .gz), for
    progress and ETA; ``total`` is None for an iterable of lines."""

    def __init__(self, source: str | Path | Iterable[str | bytes]) -> None:
        self.position = 0
        if isinstance(source, str | Path):
            self.files: list[Path] | None = input_files(source)
            self.folder = Path(source).is_dir()
            self.total: int | None = sum(p.stat().st_size for p in self.files)
            self._lines: Iterable[str | bytes] | None = None
        else:
            self.files, self.folder, self.total = None, False, None
            self._lines = source

    def __iter__(self) -> Iterator[tuple[int, str | None, int, bytes]]:
        if self.files is None:
            assert self._lines is not None
            lines = (ln.encode("utf-8") if isinstance(ln, str) else ln for ln in self._lines)
            for line_no, line in _numbered(lines):
                yield 0, None, line_no, line
            return
        done = 0
        for index, path in enumerate(self.files):
            label = path.name if self.folder else None
            with open(path, "rb") as raw:
                fh = gzip.GzipFile(fileobj=raw, mode="rb") if path.name.endswith(".gz") else raw
                with fh:
                    for line_no, line in _numbered(fh):
                        self.position = done + raw.tell()
                        yield index, label, line_no, line
            done += path.stat().st_size
            self.position = done


def _numbered(lines: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    for line_no, line in enumerate(lines, start=1):
        if line.endswith(b"\n"):
            line = line[:-1]
            if line.endswith(b"\r"):
                line = line[:-1]
        if line.strip():
            yield line_no, line
