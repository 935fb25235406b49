"""How what a traveller types is matched to city names and codes: in any case, and with a
Chinese keyboard's full-width letters, digits and spaces read as the usual ones. One rule for
the router, the pages, the API and the checks that keep names and codes apart."""

from __future__ import annotations

import unicodedata


def plain(text: str) -> str:
    """Text as typed, in its plain form: full-width letters, digits and spaces as the usual
    ones (NFKC: "ＰＥＫ" is "PEK"), spaces at either end dropped."""
    return unicodedata.normalize("NFKC", text).strip()


def fold(text: str) -> str:
    """A city's name or code, or what a traveller typed for one, for matching: ``plain``,
    in any case."""
    return plain(text).casefold()
