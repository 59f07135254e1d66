"""Contact shielding's detector (pure): does a message share a link, an email address, a phone number or an
off-app handle? (docs/safety.md "Contact shielding").

- **email**: ``name@domain.tld``, also written ``name (at) domain (dot) com`` / ``name at domain dot com``
  (the spelled-out form only with a common top-level domain);
- **link**: a scheme (``https://``), ``www.``, or a bare domain with a common top-level domain
  (``t.me/name``, ``onlyfans.com``); an email address is not also a link;
- **phone**: 7 or more digits in one run, after dropping spaces, dots, dashes, slashes and parentheses
  between them and reading the spelled-out digits "zero" to "nine" as digits ("five five five, one two
  three four"). Ordinary numbers are not phones: a run with fewer than 7 digits (ages "I'm 29", times
  "7:30" — a colon splits, "8pm"), money (a currency sign or word right before or after it), dates
  ("12.05.2024", "2024-05-12") and year ranges ("2019-2024");
- **handle**: ``@name`` (not part of an email address), or a platform's name (insta, instagram, ig, snap,
  snapchat, telegram, tg, whatsapp, kik, discord, tiktok, wechat, signal) followed by ``:``, ``-``, ``=``,
  "is" or "me" and a name, or directly by a name holding a digit, ``_`` or ``.`` ("snap ada_99").
"""

from __future__ import annotations

import re

from domain.wire.enums import SafetyFlag

TLDS = ("com|net|org|io|co|me|app|ly|gl|be|info|biz|xyz|link|site|online|top|de|uk|fr|es|it|nl|ru|us|ca|au|"
        "tv|gg|to|cc|ai|dev|page|live|club|fun|chat|social")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}", re.IGNORECASE)
_SPELLED_EMAIL = re.compile(
    rf"\b[\w.+-]+\s*(?:\(at\)|\[at\]|\{{at\}}|\s+at\s+)\s*[\w-]+\s*(?:\(dot\)|\[dot\]|\{{dot\}}|\s+dot\s+|\.)\s*"
    rf"(?:{TLDS})\b", re.IGNORECASE)
_LINK = re.compile(
    rf"\b(?:[a-z][a-z0-9+.-]*://\S|www\.\S|(?:[a-z0-9-]+\.)+(?:{TLDS})\b(?!\.\w))", re.IGNORECASE)
_HANDLE_AT = re.compile(r"(?<![\w.@])@[a-z0-9_][a-z0-9_.]{1,}", re.IGNORECASE)
_PLATFORMS = r"insta(?:gram)?|ig|snap(?:chat)?|telegram|tg|whats\s?app|kik|discord|tik\s?tok|wechat|signal"
_HANDLE_NAMED = re.compile(
    rf"\b(?:{_PLATFORMS})\b\s*(?:(?::|-|=|\bis\b|\bme\b|\bat\b|\bon\b)\s*@?[a-z0-9_.]{{3,}}"
    rf"|@?(?=[a-z0-9_.]*[0-9_.])[a-z0-9_.]{{3,}})", re.IGNORECASE)
_DIGIT_WORDS = {"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
                "seven": "7", "eight": "8", "nine": "9"}
_SPELLED_DIGIT = re.compile(r"\b(" + "|".join(_DIGIT_WORDS) + r")\b", re.IGNORECASE)
_DATE = re.compile(r"\b(?:\d{1,2}[./-]\d{1,2}[./-]\d{2,4}|\d{4}[./-]\d{1,2}[./-]\d{1,2})\b")
_YEAR_RANGE = re.compile(r"\b(?:19|20)\d\d\s*[-\u2013/]\s*(?:19|20)\d\d\b")
_MONEY = re.compile(r"[$\u20ac\u00a3\u00a5][\d.,\s]*\d|\d[\d.,\s]*\s?(?:[$\u20ac\u00a3\u00a5]|usd|eur|gbp|dollars?|"
                    r"euros?|pounds?|bucks|k\b)", re.IGNORECASE)
# digits with the separators people put inside phone numbers; a run must hold PHONE_DIGITS digits
_NUMBER_RUN = re.compile(r"\+?\(?\d[\d\s().\-/]*\d")
PHONE_DIGITS = 7


def _spell_out_digits(text: str) -> str:
    """"five five five" -> "5 5 5" (only the ten digit words)."""
    return _SPELLED_DIGIT.sub(lambda m: _DIGIT_WORDS[m.group(1).lower()], text)


def has_phone(text: str) -> bool:
    """True if ``text`` holds a run of 7 or more digits that is not a date, a year range or an amount of money."""
    text = _spell_out_digits(text)
    for ordinary in (_DATE, _YEAR_RANGE, _MONEY):
        text = ordinary.sub(" ", text)
    return any(sum(ch.isdigit() for ch in run.group()) >= PHONE_DIGITS for run in _NUMBER_RUN.finditer(text))


def contact_flags(text: str) -> list[SafetyFlag]:
    """What ``text`` shares, sorted and each once: ``link``, ``email``, ``phone``, ``handle``."""
    flags: set[SafetyFlag] = set()
    if _EMAIL.search(text) or _SPELLED_EMAIL.search(text):
        flags.add("email")
    without_emails = _EMAIL.sub(" ", text)
    if _LINK.search(without_emails):
        flags.add("link")
    if _HANDLE_AT.search(without_emails) or _HANDLE_NAMED.search(without_emails):
        flags.add("handle")
    if has_phone(without_emails):
        flags.add("phone")
    return sorted(flags)
