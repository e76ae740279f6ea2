"""Text normalisation for the text policy: one canonical form that folds the tricks people use to
write a name past a filter (case, accents, spacing, punctuation, leetspeak, look-alike letters).

Two forms come out of it:
- `clean_text`: Unicode-compatibility folded, invisible characters gone, look-alike letters made
  Latin, leetspeak undone inside words; what the category classifier reads.
- `name_variants`: lists of tokens on which names are matched. A name and a text go through the
  same `skeleton`, which also merges letters that pass for each other (l, 1, |, ! and i), so
  `Wi11 $mith` and `Will Smith` read alike.
"""

# ruff: noqa: RUF001  (the look-alike table is made of ambiguous letters on purpose)
from __future__ import annotations

import re
import unicodedata

# Cyrillic and Greek letters that look like Latin ones (lower case; text is case-folded first), and
# a few Latin letters that pass for others. NFKC already folds fullwidth and mathematical letters.
HOMOGLYPHS = {
    # Cyrillic
    "а": "a", "в": "b", "г": "r", "д": "d", "е": "e", "ё": "e", "з": "3", "и": "u", "й": "u",
    "к": "k", "м": "m", "н": "h", "о": "o", "п": "n", "р": "p", "с": "c", "т": "t", "у": "y",
    "х": "x", "ь": "b", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w",
    "һ": "h", "ӏ": "l", "ɡ": "g", "ү": "y", "ҝ": "k", "ҟ": "k", "ꞵ": "b",
    # Greek
    "α": "a", "β": "b", "γ": "y", "δ": "d", "ε": "e", "ζ": "z", "η": "n", "θ": "o", "ι": "i",
    "κ": "k", "λ": "l", "μ": "u", "ν": "v", "ξ": "e", "ο": "o", "π": "n", "ρ": "p", "σ": "o",
    "ς": "s", "τ": "t", "υ": "u", "φ": "o", "χ": "x", "ω": "w", "ϲ": "c", "ϳ": "j",
    # Latin look-alikes and letters NFKD does not take apart
    "ı": "i", "ł": "l", "ø": "o", "đ": "d", "ħ": "h", "ŧ": "t", "ß": "ss", "æ": "ae", "œ": "oe",
    "ð": "d", "þ": "p", "ƒ": "f", "ɑ": "a", "ɩ": "i", "ʟ": "l", "ᴀ": "a", "ʙ": "b", "ᴄ": "c",
    "ᴅ": "d", "ᴇ": "e", "ɢ": "g", "ʜ": "h", "ɪ": "i", "ᴊ": "j", "ᴋ": "k", "ᴍ": "m", "ɴ": "n",
    "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s", "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y",
    "ᴢ": "z",
}  # fmt: skip
# Capitals that look like a Latin capital but whose small letter does not (Greek Eta is an H, its
# small letter an n): mapped before case folding.
CAPITAL_HOMOGLYPHS = str.maketrans(
    {
        "Η": "H", "Ν": "N", "Μ": "M", "Κ": "K", "Τ": "T", "Χ": "X", "Ρ": "P", "Β": "B", "Υ": "Y",
        "Ζ": "Z", "Ι": "I", "Α": "A", "Ε": "E", "Ο": "O", "Н": "H", "В": "B", "М": "M", "К": "K",
        "Т": "T", "Р": "P", "С": "C", "Х": "X", "А": "A", "Е": "E", "О": "O", "У": "Y", "Ѕ": "S",
        "І": "I", "Ј": "J", "Һ": "H", "Ԁ": "D",
    }
)  # fmt: skip
LEET_DIGITS = {
    "0": "o",
    "1": "i",
    "2": "z",
    "3": "e",
    "4": "a",
    "5": "s",
    "6": "g",
    "7": "t",
    "8": "b",
    "9": "g",
}
LEET_SYMBOLS = {"@": "a", "$": "s", "!": "i", "|": "i", "€": "e", "£": "l", "¢": "c", "+": "t", "¥": "y"}
# After leetspeak is undone, letters that stand for each other are merged (l and i; a 1 reads as both).
SKELETON = str.maketrans({"l": "i"})
_LETTER_OR_DIGIT = re.compile(r"[^\W_]+")
_WORD_WITH_LEET = re.compile(r"[\w@$!|€£¢+¥]+")
_LETTER = re.compile(r"[^\W\d_]")


def fold(text: str) -> str:
    """Compatibility-folded, case-folded, without accents and invisible characters, look-alikes Latin."""
    text = unicodedata.normalize("NFKC", text).translate(CAPITAL_HOMOGLYPHS).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not _invisible(c))
    return "".join(HOMOGLYPHS.get(c, c) for c in text)


def _invisible(c: str) -> bool:
    # Combining marks (accents after NFKD) and format characters (zero-width joiners and spaces).
    return unicodedata.category(c) in {"Mn", "Me", "Cf"}


def _deleet_word(word: str, *, symbols: bool, lone: bool = False) -> str:
    """Undo leetspeak in a word that has letters in it (a bare number stays a number; a lone digit
    reads as a letter when `lone`, for names spelled out one character at a time)."""
    if not _LETTER.search(word) and not (lone and len(word) == 1):
        return word
    table = {**LEET_DIGITS, **LEET_SYMBOLS} if symbols else LEET_DIGITS
    return "".join(table.get(c, c) for c in word)


def clean_text(text: str) -> str:
    """What the classifier reads: folded, leetspeak undone inside words (`s3xy` reads `sexy`)."""
    folded = fold(text)
    return _LETTER_OR_DIGIT.sub(lambda m: _deleet_word(m.group(), symbols=False), folded)


def _inner_digits(word: str) -> str:
    # Only digits between letters read as letters (`t0m`), so a trailing number stays apart (`tom99`).
    between = r"(?<=[^\W\d_])\d+(?=[^\W\d_])"
    return re.sub(between, lambda m: "".join(LEET_DIGITS[c] for c in m.group()), word)


def skeleton(token: str) -> str:
    return token.translate(SKELETON)


def name_variants(text: str) -> list[list[str]]:
    """Token lists on which names are looked for: punctuation as a separator (`hanks!`), and
    punctuation read as leetspeak inside words (`h@nks`, `$mith`)."""
    folded = fold(text)
    plain: list[str] = []
    for word in _LETTER_OR_DIGIT.findall(folded):
        inner = _inner_digits(word)
        # `tom99`: the name and the number apart; `4l1c3`: the whole word read as leetspeak.
        plain.extend(_LETTER_OR_DIGIT.findall(re.sub(r"\d+", " ", inner)) or [inner])
    leet = [
        _deleet_word(w, symbols=True, lone=True) for w in _WORD_WITH_LEET.findall(folded.replace("_", " "))
    ]
    return [[skeleton(t) for t in plain if t], [skeleton(t) for t in leet if t]]


def name_key(name: str) -> tuple[str, ...]:
    """The tokens of a registered name, in the same canonical form as a text's."""
    return tuple(skeleton(t) for t in _LETTER_OR_DIGIT.findall(_deleet_word(fold(name), symbols=False)) if t)
