"""The guard in front of user SQL (`hft audit query`): one read statement, nothing that leaves the store.

ClickHouse's ``readonly`` setting refuses writes and DDL, but not ``SELECT … INTO OUTFILE`` (writes a file on the
client side), nor table functions that read files, open URLs, run processes or reach other databases
(``file``, ``url``, ``executable``, ``s3``, ``remote``, ``mysql``, chDB's ``python`` …). So a read-only query is
checked twice before it runs, on both backends:

1. **lexically** (:func:`lex_check`): exactly one statement (no ``;`` but trailing ones), starting with SELECT /
   WITH / SHOW / DESCRIBE / DESC / EXPLAIN or ``(``, and no ``OUTFILE`` keyword. Comments and string literals are
   skipped; whatever the scanner is unsure of counts as code, so doubt refuses rather than lets through. This
   also makes step 2 safe (``EXPLAIN AST`` only parses, and cannot be given an ``INTO OUTFILE`` of its own).
2. **on ClickHouse's own parse tree** (``EXPLAIN AST <sql>``, :func:`ast_check`): the statement and every
   statement inside it (an EXPLAIN's subject) is a SELECT, SHOW, DESCRIBE or EXPLAIN; the root carries no output
   file; and every function used as a table (``FROM f(…)``, ``DESCRIBE f(…)``), and every function anywhere whose
   name is a table function of the engine (``system.table_functions``: the scalar ``file('path')`` reads files
   too), is in :data:`ALLOWED_TABLE_FUNCTIONS`. That is an allowlist: a table function a future engine ships is
   refused until someone adds it here.

Refusals are `StoreError` (exit code 15) naming what was refused and what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from hft.core.errors import StoreError

#: Table functions that only generate or reshape data given inline (no file, URL, process or other database).
ALLOWED_TABLE_FUNCTIONS = frozenset({
    "numbers", "numbers_mt", "zeros", "zeros_mt", "generaterandom", "generateseries", "generate_series",
    "primes", "values", "format", "null", "view",
})

#: First keywords a read statement may start with.
ALLOWED_FIRST_WORDS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXPLAIN"})

#: Parse-tree node types (``EXPLAIN AST``) of the statements allowed at the root and inside an EXPLAIN.
_READ_NODES = frozenset({"SelectWithUnionQuery", "SelectQuery", "SelectIntersectExceptQuery", "DescribeQuery",
                         "Explain"})
#: Children the root of a SELECT may have: its body, a FORMAT name, a SETTINGS clause (an output file would show as
#: a Literal, a compression as another Literal).
_ROOT_CHILDREN = frozenset({"ExpressionList", "Identifier", "Set"})

_ALLOWED_TEXT = ("one SELECT, WITH, SHOW, DESCRIBE or EXPLAIN statement without INTO OUTFILE; table functions "
                 "allowed: " + ", ".join(sorted(ALLOWED_TABLE_FUNCTIONS)))


def _refuse(what: str, sql: str) -> StoreError:
    return StoreError(f"read-only query refused: {what}", hint=f"expected {_ALLOWED_TEXT}", sql=sql[:500])


_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")
_HEREDOC = re.compile(r"\$([A-Za-z0-9_]*)\$")


def _code_words(sql: str) -> tuple[list[str], list[int]]:
    """Upper-cased bare words outside comments, strings and quoted identifiers, and the offsets of every ``;``.

    Raises:
        StoreError: an unterminated string, quoted identifier, heredoc or comment.
    """
    words: list[str] = []
    semis: list[int] = []
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"`":
            j = i + 1
            while j < n and sql[j] != c:
                j += 2 if sql[j] == "\\" else 1
            if j >= n:
                raise _refuse(f"unterminated {c} at character {i}", sql)
            # a doubled quote ('it''s') simply starts the next literal: the same scan handles it
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            i = n if j < 0 else j + 1
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            if j < 0:
                raise _refuse(f"unterminated comment at character {i}", sql)
            i = j + 2
        elif c == "$" and (m := _HEREDOC.match(sql, i)):
            j = sql.find(m.group(0), m.end())
            if j < 0:
                raise _refuse(f"unterminated heredoc at character {i}", sql)
            i = j + len(m.group(0))
        elif c == ";":
            semis.append(i)
            i += 1
        elif c.isalpha() or c == "_":
            m = _WORD.match(sql, i)
            assert m is not None
            words.append(m.group(0).upper())
            i = m.end()
        else:
            i += 1
    return words, semis


def lex_check(sql: str) -> None:
    """Step 1 (see module doc): one statement, a read keyword first, no OUTFILE.

    Raises:
        StoreError: naming what was refused.
    """
    words, semis = _code_words(sql)
    body = sql.strip()
    if semis:
        # only trailing semicolons (and blanks between them) may follow the statement
        tail = sql[semis[0]:]
        if tail.strip().strip(";").strip():
            raise _refuse("more than one statement", sql)
        body = sql[:semis[0]].strip()
    if not body:
        raise _refuse("empty statement", sql)
    first = "(" if body.startswith("(") else (words[0] if words else body.split()[0].upper())
    if first != "(" and first not in ALLOWED_FIRST_WORDS:
        raise _refuse(f"a {first} statement", sql)
    if "OUTFILE" in words:
        raise _refuse("INTO OUTFILE", sql)


def _tree(ast_text: str) -> list[tuple[int, str, str]]:
    """``EXPLAIN AST`` text as (depth, node type, rest of the line)."""
    out = []
    for line in ast_text.splitlines():
        if not line.strip():
            continue
        depth = len(line) - len(line.lstrip(" "))
        kind, _, rest = line.strip().partition(" ")
        out.append((depth, kind, rest))
    return out


def _is_statement(kind: str) -> bool:
    return (kind.endswith("Query") and not kind.startswith("TablesInSelectQuery")) or kind == "Explain"


def _function_name(rest: str) -> str:
    return rest.split(" (", 1)[0].strip().strip("`").lower()


def ast_check(sql: str, ast_text: str, table_functions: Iterable[str]) -> None:
    """Step 2 (see module doc) on the ``EXPLAIN AST`` output of `sql`.

    Args:
        sql: the statement (for the error).
        ast_text: what ``EXPLAIN AST <sql>`` printed.
        table_functions: names of the engine's table functions (``system.table_functions``).

    Raises:
        StoreError: naming the statement kind or the function refused.
    """
    nodes = _tree(ast_text)
    if not nodes:
        raise _refuse("the statement did not parse to anything", sql)
    tf = {t.lower() for t in table_functions}
    root_depth, root_kind, _ = nodes[0]
    if not (root_kind in _READ_NODES or root_kind.startswith("Show")):
        raise _refuse(f"a {root_kind} statement", sql)
    for k, (depth, kind, rest) in enumerate(nodes):
        if depth == root_depth and k > 0:
            raise _refuse("more than one statement", sql)
        if depth == root_depth + 1 and root_kind == "SelectWithUnionQuery" and kind not in _ROOT_CHILDREN:
            raise _refuse("an output clause (INTO OUTFILE)", sql)
        if _is_statement(kind) and not (kind in _READ_NODES or kind.startswith("Show")):
            raise _refuse(f"a {kind} statement inside the query", sql)
        if kind == "Function":
            name = _function_name(rest)
            as_table = k > 0 and nodes[k - 1][1] == "TableExpression" and nodes[k - 1][0] == depth - 1
            if (as_table or name in tf) and name not in ALLOWED_TABLE_FUNCTIONS:
                raise _refuse(f"table function {name}() (it reaches files, URLs, processes or other "
                              "databases, or is not on the allowlist)", sql)


def check_read_only_sql(sql: str, explain_ast: Callable[[str], str], table_functions: Iterable[str]) -> None:
    """Both steps. `explain_ast(sql)` returns ClickHouse's ``EXPLAIN AST`` text for `sql` (run read-only).

    Raises:
        StoreError: the statement is not a plain read of the store (one line naming why), or does not parse.
    """
    lex_check(sql)
    ast_check(sql, explain_ast(sql), table_functions)
