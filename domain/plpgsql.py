"""A statement the code builds, written into a PL/pgSQL function's body.

The server-side functions (``domain/social/pass_function.py``, ``domain/social/like_function.py``) run the same
statements as the code's transactional paths. Rather than restating them, the function's body is made from the
compiled statement (``RawStatement``): each ``$n`` becomes the function's argument or variable that stands for
that parameter, and a value SQLAlchemy wrote into the statement (a default parameter) becomes a literal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from domain.raw_statements import RawStatement

_PARAMETER = re.compile(r"\$(\d+)(?!\d)")


def literal(value: object) -> str:
    """``value`` as SQL: the statements' written-in values are strings ('deleted') and whole numbers."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"no SQL literal for {value!r}")
    if isinstance(value, int):
        return str(value)
    return "'" + value.replace("'", "''") + "'"


def inline(statement: RawStatement, variables: Mapping[str, str]) -> str:
    """``statement``'s SQL with each parameter replaced by ``variables[name]`` (an argument such as ``$1`` or
    ``p_liker``, a variable, an expression) or, for a value written into it, that value; trailing blanks
    dropped (the migrations' copies have none). A parameter with neither is an error: the statement changed."""
    missing = [name for name in statement.names if name not in variables and name not in statement.defaults]
    if missing:
        raise AssertionError(f"the statement's parameters changed: {missing} have no variable")

    def swap(match: re.Match[str]) -> str:
        name = statement.names[int(match.group(1)) - 1]
        return variables[name] if name in variables else literal(statement.defaults[name])

    sql = _PARAMETER.sub(swap, statement.sql)
    return "\n".join(line.rstrip() for line in sql.splitlines())
