"""Reading ids and integers from query strings: ASCII digits in the database's range, or None."""

import re

BIGINT_MAX = 2**63 - 1
_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_int(raw: object, *, minimum: int = 0, maximum: int = BIGINT_MAX) -> int | None:
    """`raw` as an int within [minimum, maximum] (a PostgreSQL bigint by default), else None.

    Only ASCII digits count: `str.isdigit()` accepts "²" and other digits `int()` refuses.
    """
    text = raw if isinstance(raw, str) else ""
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def parse_id(raw: object) -> int | None:
    """A primary key given as text ("12"), or None for anything that cannot be one."""
    return parse_int(raw, minimum=1)
