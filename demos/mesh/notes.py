"""The demo's local corpus: GPU cloud pricing notes from the tutorial, searched by keyword."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CORPUS = Path(__file__).parent / "corpus"
_WORD = re.compile(r"[a-z0-9$.%-]+")
_STOP = {"the", "and", "for", "with", "what", "how", "are", "does", "from", "that", "this", "into", "about", "of", "in"}


@dataclass(frozen=True)
class Note:
    title: str
    source: str
    sentences: tuple[str, ...]

    @classmethod
    def read(cls, path: Path) -> Note:
        lines = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        title = lines[0].lstrip("# ")
        source = lines[1].removeprefix("source:").strip()
        return cls(title=title, source=source, sentences=tuple(lines[2:]))


def _words(text: str) -> set[str]:
    return {w.strip(".") for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in _STOP}


def search(query: str, limit: int = 3) -> list[dict[str, object]]:
    """The notes that share the most words with the query, with their matching sentences."""
    wanted = _words(query)
    scored = []
    for path in sorted(CORPUS.glob("*.md")):
        note = Note.read(path)
        hits = [s for s in note.sentences if _words(s) & wanted]
        score = sum(len(_words(s) & wanted) for s in note.sentences) + 2 * len(_words(note.title) & wanted)
        if score:
            scored.append((score, note, hits or list(note.sentences[:1])))
    scored.sort(key=lambda item: -item[0])
    return [{"title": n.title, "source": n.source, "facts": hits} for _, n, hits in scored[:limit]]
