"""SQLite SQL text → PostgreSQL, regenerated from a syntax tree; never pasted.

The SQLite file is hostile input: its view bodies, index expressions and predicates, column
defaults, CHECKs and generated columns are text that SQLite and PostgreSQL read differently
(PostgreSQL nests `/* */` comments, has dollar quotes, `E''` and `U&''` strings). So no byte
of that text reaches the server. Each piece goes through five gates:

1. SQLite's own lexing (`sqlite_tokens`) finds its boundaries and blanks its comments;
2. sqlglot parses it (SQLite dialect) into exactly one expression or query;
3. every node of the tree must be of an allowed type (`EXPRESSION`, `QUERY`, cast types in
   `CAST_TYPES`): no unknown (anonymous) function, no raw command, no parameter;
4. sqlglot writes it for PostgreSQL with every identifier quoted; the text must lex as plain
   PostgreSQL (`check_lexically`: no `;`, `$`, comment, prefixed string or stray byte) and
   read back by sqlglot's PostgreSQL dialect to the same text;
5. strings holding a backslash become `E''` strings, correct whatever
   `standard_conforming_strings` says.

Whatever fails a gate raises `Untranslatable` with the reason; the plan lists it as a manual
follow-up and sends nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel

from ..core.errors import RunbookError
from ..core.i18n import fill
from .wording import REASONS

__all__ = ["Untranslatable", "sqlite_tokens", "without_comments", "expression", "default",
           "view", "View", "index", "table_parts", "TableParts", "check_lexically",
           "renamer"]

MAX_TEXT = 100_000  # characters of one piece of SQL text
MAX_DEPTH = 64  # nested parentheses


class Untranslatable(RunbookError, ValueError):
    """SQLite SQL text that is not regenerated for PostgreSQL (the message says why, in the
    run's language: `message_in(language)`)."""


# -- 1. SQLite's lexing ------------------------------------------------------------------------
_SQLITE = re.compile(r"""
  (?P<space>[ \t\n\f\r]+)
| (?P<comment>--[^\n]*(?:\n|\Z)|/\*.*?(?:\*/|\Z))
| (?P<string>'(?:[^']|'')*')
| (?P<blob>[xX]'[^']*')
| (?P<ident>"(?:[^"]|"")*"|\[[^\]]*\]|`(?:[^`]|``)*`)
| (?P<word>[A-Za-z_\x80-\U0010ffff][A-Za-z0-9_$\x80-\U0010ffff]*)
| (?P<number>0[xX][0-9a-fA-F_]+|(?:\d[\d_]*(?:\.[\d_]*)?|\.\d[\d_]*)(?:[eE][+-]?\d[\d_]*)?)
| (?P<lparen>\() | (?P<rparen>\)) | (?P<comma>,) | (?P<semi>;)
| (?P<op>\|\||<<|>>|<=|>=|==|!=|<>|->>|->|[-+*/%&|~<>=.])
| (?P<var>[?:@$][A-Za-z0-9_$]*)
""", re.X | re.S)


@dataclass(frozen=True)
class Token:
    kind: str
    text: str
    start: int
    end: int
    depth: int  # parentheses open before this token

    def word(self, *words: str) -> bool:
        return self.kind == "word" and self.text.upper() in words

    @property
    def name(self) -> str:
        """An identifier token's name, unquoted as SQLite reads it."""
        if self.kind == "ident":
            body = self.text[1:-1]
            return body if self.text[0] == "[" else body.replace(self.text[0] * 2, self.text[0])
        if self.kind == "string":  # SQLite accepts 'name' where a name is expected
            return self.text[1:-1].replace("''", "'")
        return self.text


def sqlite_tokens(text: str) -> Iterator[Token]:
    """SQLite's tokens of `text` (comments included, kind 'comment'), with their depth."""
    if len(text) > MAX_TEXT:
        raise Untranslatable(REASONS["too_long"], limit=MAX_TEXT)
    pos, depth = 0, 0
    while pos < len(text):
        found = _SQLITE.match(text, pos)
        if not found:
            raise Untranslatable(REASONS["not_sqlite"], char=repr(text[pos]))
        kind = found.lastgroup
        if kind == "rparen":
            depth -= 1
        yield Token(kind, found.group(), pos, found.end(), depth)
        if kind == "lparen":
            depth += 1
            if depth > MAX_DEPTH:
                raise Untranslatable(REASONS["too_deep"], limit=MAX_DEPTH)
        pos = found.end()


def without_comments(text: str) -> str:
    """`text` with every comment (as SQLite reads comments) replaced by one space."""
    return "".join(" " if t.kind == "comment" else t.text for t in sqlite_tokens(text))


def _solid(text: str) -> list[Token]:
    """The tokens that are not space or comment."""
    return [t for t in sqlite_tokens(text) if t.kind not in ("space", "comment")]


def _close(tokens: list[Token], i: int) -> int:
    """Index of the ')' closing the '(' at tokens[i]."""
    for j in range(i + 1, len(tokens)):
        if tokens[j].kind == "rparen" and tokens[j].depth == tokens[i].depth:
            return j
    raise Untranslatable(REASONS["unbalanced"])


def _between(text: str, tokens: list[Token], first: int, last: int) -> str:
    """The source text from tokens[first] to tokens[last] inclusive, comments blanked."""
    if first > last:
        return ""
    return without_comments(text[tokens[first].start:tokens[last].end])


def _split(tokens: list[Token], depth: int) -> list[list[Token]]:
    """Tokens split at the commas of one parenthesis level."""
    parts: list[list[Token]] = [[]]
    for tok in tokens:
        if tok.kind == "comma" and tok.depth == depth:
            parts.append([])
        else:
            parts[-1].append(tok)
    return parts


# -- 3. what a tree may hold ---------------------------------------------------------------
def _classes(*names: str) -> tuple[type, ...]:
    return tuple(getattr(exp, n) for n in names if hasattr(exp, n))


EXPRESSION = _classes(
    "Column", "Identifier", "Literal", "Null", "Boolean", "Paren", "Tuple", "Neg", "Not",
    "And", "Or", "EQ", "NEQ", "GT", "GTE", "LT", "LTE", "Is", "NullSafeEQ", "NullSafeNEQ",
    "In", "Between", "Like", "ILike", "Escape", "Add", "Sub", "Mul", "Div", "Mod", "DPipe",
    "BitwiseAnd", "BitwiseOr", "BitwiseXor", "BitwiseNot", "BitwiseLeftShift",
    "BitwiseRightShift", "Case", "If", "Cast", "DataType", "DataTypeParam", "Coalesce",
    "Nullif", "Lower", "Upper", "Length", "Substring", "Trim", "Abs", "Round", "Sign", "Ceil",
    "Floor", "Greatest", "Least", "StrPosition", "CurrentTimestamp", "CurrentDate",
    "CurrentTime")
QUERY = EXPRESSION + _classes(
    "Select", "From", "Where", "Group", "Having", "Order", "Ordered", "Limit", "Offset",
    "Join", "Subquery", "Union", "Intersect", "Except", "With", "CTE", "TableAlias", "Alias",
    "Table", "Star", "Distinct", "Exists", "Count", "Sum", "Avg", "Max", "Min", "GroupConcat")
_T = exp.DataType.Type
CAST_TYPES = {_T.TINYINT, _T.SMALLINT, _T.INT, _T.BIGINT, _T.FLOAT, _T.DOUBLE, _T.DECIMAL,
              _T.BOOLEAN, _T.TEXT, _T.VARCHAR, _T.CHAR, _T.NVARCHAR, _T.NCHAR, _T.DATE,
              _T.TIME, _T.TIMESTAMP, _T.TIMESTAMPTZ, _T.DATETIME, _T.VARBINARY, _T.BINARY}


def _allowed(tree: exp.Expression, kinds: tuple[type, ...]) -> None:
    for node in tree.walk():
        if type(node) not in kinds:  # exact types: a subclass is another node
            what = node.sql_name() if isinstance(node, exp.Func) else type(node).__name__
            if isinstance(node, exp.Anonymous):
                what = fill(REASONS["function"], name=node.name)
            raise Untranslatable(REASONS["no_translation"], what=what)
        if isinstance(node, exp.DataType) and node.this not in CAST_TYPES:
            raise Untranslatable(REASONS["cast"], type=node.sql("sqlite"))
        if isinstance(node, exp.Table) and (node.args.get("catalog") or
                                            node.text("db").lower() not in ("", "main")):
            raise Untranslatable(REASONS["other_database"], table=node.sql("sqlite"))


def _parse(text: str, kinds: tuple[type, ...]) -> exp.Expression:
    """Exactly one statement or expression, every node allowed."""
    try:
        trees = sqlglot.parse(text, read="sqlite", error_level=ErrorLevel.RAISE)
    except (sqlglot.errors.SqlglotError, RecursionError, ValueError, KeyError) as exc:
        first = str(exc).splitlines()[0][:120]
        raise Untranslatable(REASONS["not_parsed"], error=first) from None
    trees = [t for t in trees if t is not None]
    if len(trees) != 1:
        raise Untranslatable(REASONS["statements"], n=len(trees))
    _allowed(trees[0], kinds)
    return trees[0]


# -- names -------------------------------------------------------------------------------------
Rename = Callable[[str], str]


def renamer(names: dict[str, str]) -> Rename:
    """SQLite names are case-insensitive: source name (any case) → target name."""
    folded: dict[str, str | None] = {}
    for src, target in names.items():
        key = src.lower()
        folded[key] = target if folded.get(key, target) == target else None  # ambiguous
    return lambda name: folded.get(name.lower()) or name


def _rename(tree: exp.Expression, columns: Rename, tables: Rename) -> exp.Expression:
    for node in list(tree.walk()):
        if isinstance(node, exp.Column):
            if not isinstance(node.this, exp.Star):
                node.set("this", exp.to_identifier(columns(node.name), quoted=True))
            if node.table:
                node.set("table", exp.to_identifier(tables(node.table), quoted=True))
        elif isinstance(node, exp.Table):
            node.set("this", exp.to_identifier(tables(node.name), quoted=True))
            node.set("db", None)
    return tree


# -- 4. PostgreSQL text, checked ------------------------------------------------------------
_PG = re.compile(r"""
  (?P<space>[ \n]+)
| (?P<ident>"(?:[^"\x00]|"")*")
| (?P<string>'(?:[^'\x00]|'')*')
| (?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)
| (?P<word>[A-Za-z_][A-Za-z0-9_]*)
| (?P<op>[-+*/<>=~!%^&|#@]+)
| (?P<punct>::|[(),.])
""", re.X)


def _pg_tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    while pos < len(text):
        found = _PG.match(text, pos)
        if not found:
            raise Untranslatable(REASONS["generated_char"], char=repr(text[pos]))
        out.append((found.lastgroup, found.group()))
        pos = found.end()
    return out


def check_lexically(text: str) -> list[tuple[str, str]]:
    """PostgreSQL's lexing of generated text must be plain: quoted identifiers and strings
    with no prefix (E, B, X, N, U&), numbers, words, operators without `--` or `/*`, and
    punctuation; no `;`, `$`, backslash or control character outside a string."""
    tokens = _pg_tokens(text)
    for (kind, tok), (prev_kind, prev) in zip(tokens, [("space", " ")] + tokens, strict=False):
        if kind == "op" and ("--" in tok or "/*" in tok or "*/" in tok):
            raise Untranslatable(REASONS["generated_comment"])
        if kind in ("string", "ident") and prev_kind in ("word", "number", "op", "ident",
                                                         "string"):
            raise Untranslatable(REASONS["generated_prefix"], literal=prev + tok[:10])
    return tokens


def _escape_strings(tokens: list[tuple[str, str]]) -> str:
    """Strings holding a backslash as E'' strings (the same under any
    standard_conforming_strings)."""
    return "".join("E" + tok.replace("\\", "\\\\") if kind == "string" and "\\" in tok else tok
                   for kind, tok in tokens)


def _generate(tree: exp.Expression, kinds: tuple[type, ...]) -> str:
    try:
        text = tree.sql(dialect="postgres", identify=True, comments=False,
                        unsupported_level=ErrorLevel.RAISE)
        back = sqlglot.parse(text, read="postgres", error_level=ErrorLevel.RAISE)
    except (sqlglot.errors.SqlglotError, RecursionError, ValueError, KeyError) as exc:
        first = str(exc).splitlines()[0][:120]
        raise Untranslatable(REASONS["not_generated"], error=first) from None
    tokens = check_lexically(text)
    if len(back) != 1 or back[0] is None:
        raise Untranslatable(REASONS["not_one"])
    _allowed(back[0], kinds)
    if back[0].sql(dialect="postgres", identify=True, comments=False) != text:
        raise Untranslatable(REASONS["not_same"])
    return _escape_strings(tokens)


# -- the places SQL text comes from --------------------------------------------------------------
def expression(text: str, columns: Rename = str, tables: Rename = str) -> str:
    """A SQLite expression (CHECK, index expression or predicate, generated column)."""
    tree = _parse(without_comments(text), EXPRESSION)
    return _generate(_rename(tree, columns, tables), EXPRESSION)


def _number(tree: exp.Expression) -> bool:
    inner = tree.this if isinstance(tree, exp.Neg) else tree
    return isinstance(inner, exp.Literal) and not inner.is_string


def default(text: str, columns: Rename = str) -> str:
    """A column DEFAULT. Numbers and booleans become quoted literals, which PostgreSQL reads
    as the column's type (SQLite's DEFAULT 1 on a BOOLEAN column is a valid '1')."""
    tree = _parse(without_comments(text), EXPRESSION)
    if isinstance(tree, exp.Paren) and not tree.find(exp.Column):
        tree = tree.this
    if isinstance(tree, exp.Boolean):
        tree = exp.Literal.string("1" if tree.this else "0")
    elif _number(tree):
        tree = exp.Literal.string(tree.sql("sqlite"))
    return _generate(_rename(tree, columns, str), EXPRESSION)


def _after(tokens: list[Token], first: int, *words: str) -> int:
    """Index of the first depth-0 token from `first` on that is one of `words`."""
    for i in range(first, len(tokens)):
        if tokens[i].depth == 0 and tokens[i].word(*words):
            return i
    raise Untranslatable(REASONS["not_found"], words="/".join(words))


@dataclass(frozen=True)
class View:
    """A translated view: its column list, its query, the relations it reads (target names)."""

    columns: list[str]
    sql: str
    reads: frozenset[str]


def view(sql: str, columns: Rename, tables: Rename) -> View:
    """CREATE VIEW text → its column list and query for PostgreSQL."""
    tokens = _solid(sql)
    start = _after(tokens, 0, "VIEW")
    at = _after(tokens, start, "AS")
    names = []
    paren = next((i for i in range(start, at) if tokens[i].kind == "lparen"), None)
    if paren is not None:
        names = [part[0].name for part in _split(tokens[paren + 1:_close(tokens, paren)], 1)
                 if len(part) == 1 and part[0].kind in ("word", "ident", "string")]
    tree = _parse(without_comments(sql[tokens[at].end:]).strip(), QUERY)
    if not isinstance(tree, exp.Query):
        raise Untranslatable(REASONS["view_not_query"])
    tree = _rename(tree, columns, tables)
    ctes = {c.alias_or_name for c in tree.find_all(exp.CTE)}
    reads = frozenset(t.name for t in tree.find_all(exp.Table)) - ctes
    return View(names, _generate(tree, QUERY), reads)


def index(sql: str, columns: Rename) -> tuple[list[str], str | None]:
    """CREATE INDEX text → (its key items for PostgreSQL, its WHERE predicate or None)."""
    tokens = _solid(sql)
    on = _after(tokens, 0, "ON")
    paren = next((i for i in range(on, len(tokens)) if tokens[i].kind == "lparen"), None)
    if paren is None:
        raise Untranslatable(REASONS["no_columns"])
    close = _close(tokens, paren)
    items = []
    for part in _split(tokens[paren + 1:close], 1):
        order = ""
        if part and part[-1].word("ASC", "DESC"):
            order = " DESC" if part[-1].word("DESC") else ""
            part = part[:-1]
        if any(t.word("COLLATE") and t.depth == 1 for t in part):
            raise Untranslatable(REASONS["index_collate"])
        if not part:
            raise Untranslatable(REASONS["empty_item"])
        key = expression(_between(sql, tokens, tokens.index(part[0]), tokens.index(part[-1])),
                         columns)
        items.append(f"({key}){order}")  # PostgreSQL reads "(column)" as a plain column
    where = None
    if close + 1 < len(tokens):
        if not tokens[close + 1].word("WHERE"):
            raise Untranslatable(REASONS["after_columns"], token=repr(tokens[close + 1].text))
        where = expression(_between(sql, tokens, close + 2, len(tokens) - 1), columns)
    return items, where


# -- CREATE TABLE: CHECKs and generated columns ---------------------------------------------------
@dataclass
class TableParts:
    """What a CREATE TABLE holds as SQL text beyond names and types (SQLite text, spans)."""

    checks: list[tuple[str | None, str | None, str]] = field(default_factory=list)
    generated: dict[str, str] = field(default_factory=dict)  # column → expression


def _column_parts(sql: str, tokens: list[Token], parts: TableParts) -> None:
    first = tokens[0]
    column = None if first.word("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN") \
        else first.name
    i, name = (0 if column is None else 1), None
    while i < len(tokens):
        tok = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok.word("CONSTRAINT") and nxt is not None:
            name, i = nxt.name, i + 2
        elif tok.word("CHECK", "AS") and nxt is not None and nxt.kind == "lparen":
            close = _close(tokens, i + 1)
            text = _between(sql, tokens, i + 2, close - 1)
            if tok.word("CHECK"):
                parts.checks.append((name, column, text))
            elif column is not None:
                parts.generated[column] = text
            name, i = None, close + 1
        elif tok.kind == "lparen":  # a type's size, a DEFAULT (…), REFERENCES t(…)
            i = _close(tokens, i) + 1
        else:
            if tok.word("PRIMARY", "NOT", "NULL", "UNIQUE", "DEFAULT", "COLLATE",
                        "REFERENCES", "FOREIGN"):
                name = None
            i += 1


def table_parts(sql: str) -> TableParts:
    """The CHECK constraints (name, column, text) and generated columns of a CREATE TABLE,
    found by SQLite's lexing (sqlglot does not read every SQLite table definition)."""
    tokens = _solid(sql)
    parts = TableParts()
    paren = next((i for i, t in enumerate(tokens) if t.kind == "lparen" or t.word("AS")), None)
    if paren is None or tokens[paren].kind != "lparen":
        return parts  # CREATE TABLE … AS SELECT: no constraints
    for item in _split(tokens[paren + 1:_close(tokens, paren)], 1):
        if item:
            _column_parts(sql, item, parts)
    return parts
