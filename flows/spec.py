"""Strategy spec files: schema, loader, and error messages a human can act on.

A spec is the only thing a user writes to move money, so every mistake must come back as one
line naming the file, the line, the field, the problem and the fix, never as a traceback.

The ``strategy:`` section is whichever strategy its ``kind`` names: the union of the sections
the registered strategy modules declare (``okx_strategies.registry``); their field types are
``okx_strategies.fields``, shared with the rest of the spec.

Decisions worth knowing:

* YAML numbers become ``Decimal`` from their source text (``0.1`` is exactly ``Decimal("0.1")``),
  never via float; whole numbers such as ``slices: 4`` stay ``int``. Only ``true``/``false`` are
  booleans (``yes``/``no``/``on``/``off`` stay text), duplicate keys and anchors/aliases are refused.
* A number has one spelling: plain decimal digits, an optional sign, point and exponent (``1e3``
  and ``1.5e+3`` are exact, so they stay accepted). YAML 1.1 also reads ``0100`` as octal 64,
  ``0x1F``, ``0b1``, ``1_000`` and base-60 ``1:30`` as numbers, and YAML 1.2 readers disagree with
  it about several of them, so these are refused with the plain spelling rather than read as
  anything; so are ``.inf``/``.nan`` and, where a number is expected, ``yes``/``no``/``on``/``off``.
* ``load_spec`` reads only a regular file of at most 1 MiB: a FIFO, a device or a directory
  named as a spec is refused from ``stat`` alone, and opening never blocks.
* A ``sim`` spec refuses a ``base_url`` on a real OKX host in any spelling (case, trailing dot,
  userinfo, port): a simulator spec must never reach real money.
* ``strategy.targets`` may omit the quote currency; it then counts as weight 0 and is added to
  the loaded targets explicitly. Listed weights must still add up to exactly 1, so a typo can
  never silently park money in the quote currency.
* ``demo`` and ``live`` venues refuse a non-https ``base_url``: the passphrase travels in a header.
  ``live`` also requires ``risk.max_run_notional``: real money always has a per-run cap.
* Everything the strategy trades must be in ``risk.allowed_instruments`` when that list is given,
  and fixed amounts that could never pass the risk limits (a DCA buy above ``max_order_notional``,
  a ladder above ``max_run_notional``) are refused at load time rather than skipped at every run.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, Union
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, Field, ValidationError, model_validator
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from okx_strategies.base import Risk, StrategySpec, Strict
from okx_strategies.fields import PLAIN_DECIMAL, PLAIN_INT, BlockName, Name, Url
from okx_strategies.fields import OddNumber as _OddNumber
from okx_strategies.fields import problem as _problem
from okx_strategies.fields import show as _show
from okx_strategies.pipeline import instrument_problems
from okx_strategies.plan import RiskLimits
from okx_strategies.registry import strategies
from okx_strategies.sleeve import Capital
from okx_wire.errors import ConfigurationError
from okx_wire.hosts import is_okx_host, normalized_host
from okx_wire.models import Instrument

MAX_FILE_BYTES: Final = 1 << 20
MAX_FILE_CHARS: Final = 100_000


class SpecError(Exception):
    """A spec that cannot be used; ``str()`` is one ``file:line: path: problem -- fix`` per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))




# ---------------------------------------------------------------------------------------------
# Schema


class Credentials(Strict):
    """Where the API key comes from: a Prefect ``OkxCredentials`` block or the OKX_* env vars."""

    block: BlockName | None = None
    env: bool | None = None

    @model_validator(mode="after")
    def _one_source(self) -> Credentials:
        if self.block is not None and self.env:
            raise _problem("both block and env are set -- keep only one credential source")
        if self.block is None and self.env is False:
            raise _problem("env is false and no block is given -- set block: <name> or env: true")
        return self

    @property
    def from_env(self) -> bool:
        return self.block is None


if TYPE_CHECKING:
    Strategy = StrategySpec
else:  # the registered sections, told apart by ``kind``
    Strategy = Annotated[Union[tuple(s.spec for s in strategies().values())],  # noqa: UP007
                         Field(discriminator="kind")]
#: The spec section of each strategy, by kind (the registry's, in its order).
STRATEGIES: Final[dict[str, type[StrategySpec]]] = {kind: s.spec for kind, s in strategies().items()}
KINDS: Final = tuple(STRATEGIES)


def base_url_problem(venue: str, url: str | None) -> str | None:
    """Why ``url`` must not be used for ``venue`` (also for OKX_BASE_URL at run time), or None.

    A ``sim`` spec is written for play money, without the per-run cap a live spec must have; on a
    real OKX host it would trade a real account. The host is compared normalised (``is_okx_host``),
    so no spelling of it gets through, and only the host is shown: userinfo may hold a password.
    """
    if url is not None and venue in ("demo", "live") and urlsplit(url).scheme != "https":
        return (f"{venue} venue needs an https base_url, got {_show(url)} -- use https:// "
                f"(credentials{' and real money' if venue == 'live' else ''} go over this connection)")
    if url is not None and venue == "sim":
        try:
            host = normalized_host(url) if is_okx_host(url) else None
        except ConfigurationError:  # not a URL with a host: the base_url field reports that
            host = None
        if host is not None:
            return (f"{host} is a real OKX host, but the spec says venue: sim -- use the simulator's URL "
                    f"(e.g. http://127.0.0.1:8123), or venue: demo or live to trade on OKX")
    return None


class Spec(Strict):
    name: Name
    venue: Literal["sim", "demo", "live"] = "sim"
    base_url: Url | None = None
    credentials: Credentials = Field(default_factory=Credentials)
    dry_run: bool = False
    risk: Risk = Field(default_factory=Risk)
    #: The spec's own part of a shared account (``okx_strategies.sleeve``); None: what no sleeve holds.
    capital: Capital | None = None
    strategy: Strategy

    @model_validator(mode="after")
    def _consistent(self) -> Spec:
        problem = base_url_problem(self.venue, self.base_url)
        if problem:
            raise _problem(problem, "base_url")
        if self.venue == "live" and self.risk.max_run_notional is None:
            raise _problem("the live venue needs a per-run cap -- set risk.max_run_notional", "risk")
        allowed = self.risk.allowed_instruments
        for inst_id, path in self.strategy.instrument_paths().items():
            if allowed is not None and inst_id not in allowed:
                raise _problem(f"{inst_id} is not in risk.allowed_instruments -- add it there or stop trading it",
                               path)
        risk_problem = self.strategy.risk_problem(self.risk)
        if risk_problem is not None:
            raise risk_problem
        return self

    def instruments(self) -> set[str]:
        return set(self.strategy.instrument_paths())

    def risk_limits(self) -> RiskLimits:
        return self.risk.limits()


# ---------------------------------------------------------------------------------------------
# YAML: numbers as Decimal, strict booleans, no duplicates, no aliases, with line numbers


class _YamlProblem(Exception):
    def __init__(self, line: int, text: str) -> None:
        self.line, self.text = line, text
        super().__init__(text)


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps number text exact and refuses what hides mistakes in a spec."""

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise _YamlProblem(event.start_mark.line + 1,
                               "anchors and aliases (*name) are not supported -- write the value out in full")
        return super().compose_node(parent, index)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, (dict, list)):
                raise _YamlProblem(key_node.start_mark.line + 1, "a key must be plain text -- use a simple key")
            if key in seen:
                raise _YamlProblem(key_node.start_mark.line + 1,
                                   f"duplicate key {_show(key)} -- keep only one of them")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _construct_number(loader: _Loader, node: ScalarNode) -> int | Decimal | _OddNumber:
    """A YAML int or float from its text: plain whole numbers as ``int``, other plain decimals as
    exact ``Decimal``, anything else (octal, hex, underscores, base 60, inf, nan) kept as text."""
    text = str(loader.construct_scalar(node))
    if PLAIN_INT.fullmatch(text):
        return int(text)
    if PLAIN_DECIMAL.fullmatch(text):
        return Decimal(text)
    return _OddNumber(text)


_Loader.add_constructor("tag:yaml.org,2002:int", _construct_number)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_number)
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                              list("tTfF"))


def _yaml_fix(problem: str) -> str:
    if "\t" in problem or "'\\t'" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "check the indentation, and quote values that contain ': '"
    if "could not find expected ':'" in problem:
        return "every line needs 'key: value'; check for a missing colon"
    if "found undefined alias" in problem or "found unhashable" in problem:
        return "write the value out in full"
    if "expected ',' or '}'" in problem or "expected ',' or ']'" in problem:
        return "close the brackets and separate items with commas"
    return "fix the YAML syntax on this line"


_PLAIN_TAGS: Final = frozenset(f"tag:yaml.org,2002:{name}"
                               for name in ("str", "int", "float", "bool", "null", "map", "seq"))


def _check_tags(node: Node | None) -> None:
    """Refuse explicit tags such as ``!!set`` or ``!!binary``: a spec is plain maps, lists and scalars."""
    if node is None:
        return
    if node.tag not in _PLAIN_TAGS:
        raise _YamlProblem(node.start_mark.line + 1,
                           f"the YAML tag {_show(node.tag)} is not supported -- remove the '!' tag")
    children: list[Node] = []
    if isinstance(node, MappingNode):
        children = [part for pair in node.value for part in pair]
    elif isinstance(node, SequenceNode):
        children = list(node.value)
    for child in children:
        _check_tags(child)


def _load_yaml(text: str, source: str) -> tuple[Node | None, Any]:
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        line = text[: exc.position].count("\n") + 1
        raise SpecError([f"{source}:{line}: invalid YAML: control character #x{exc.character:04x} in the text "
                         f"-- remove it"]) from None
    try:
        root = loader.get_single_node()
        _check_tags(root)
        return root, (loader.construct_document(root) if root is not None else None)
    except _YamlProblem as exc:
        raise SpecError([f"{source}:{exc.line}: {exc.text}"]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise SpecError([f"{source}:{line}: invalid YAML: {problem} -- {_yaml_fix(problem)}"]) from None
    except (yaml.YAMLError, TypeError, ValueError, ArithmeticError, RecursionError) as exc:
        # Last resort, so that no YAML oddity ever reaches the user as a traceback.
        raise SpecError([f"{source}:1: invalid YAML: {' '.join(str(exc).split())} -- fix the YAML syntax"]) from None
    finally:
        loader.dispose()


def _line_of(root: Node | None, loc: Sequence[Any]) -> int:
    """Line of the YAML node at ``loc`` (a key's own line), else of its nearest existing parent."""
    if root is None:
        return 1
    node, line = root, root.start_mark.line + 1
    for part in loc:
        if isinstance(node, MappingNode):
            match = next(((k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == str(part)), None)
            if match is None:
                return line
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line


# ---------------------------------------------------------------------------------------------
# pydantic errors -> one line each

_EXAMPLES: Final = {
    "name": "core-rebalance", "strategy": "{kind: rebalance, ...}", "kind": "rebalance", "quote_ccy": "USDT",
    "targets": "{BTC: 0.5, USDT: 0.5}", "inst_id": "BTC-USDT", "quote_amount": "100", "side": "buy",
    "total_size": "0.05", "slices": "5", "window_seconds": "20", "levels": "5", "step_bps": "50",
    "total_quote": "1000",
}
_SUBMODELS: Final[dict[tuple[type[BaseModel], str], type[BaseModel]]] = {
    (Spec, "risk"): Risk, (Spec, "credentials"): Credentials,
}


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model whose keys live at ``loc`` (a raw pydantic loc, strategy tag included)."""
    model: type[BaseModel] | None = Spec
    for part in loc:
        if model is Spec and part == "strategy":
            model = None
        elif model is None and part in STRATEGIES:
            model = STRATEGIES[part]
        elif model is not None and (model, part) in _SUBMODELS:
            model = _SUBMODELS[(model, part)]
        else:
            return None
    return model


def _allowed_keys(loc: Sequence[Any]) -> list[str]:
    model = _model_at(loc)
    return list(model.model_fields) if model is not None else []


def _misspelt(errors: Sequence[Mapping[str, Any]]) -> set[tuple[Any, ...]]:
    """Raw locs of missing keys that an unknown key is probably a misspelling of.

    "unknown key 'target' -- did you mean 'targets'?" already says it all; a second line saying
    targets is missing would only make the one mistake look like two.
    """
    found = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            parent = tuple(error["loc"][:-1])
            close = _closest(str(error["loc"][-1]), _allowed_keys(parent))
            if close is not None:
                found.add((*parent, close))
    return found


def _closest(word: str, choices: Sequence[str]) -> str | None:
    found = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def _choices_from(expected: str) -> list[str]:
    return re.findall(r"'([^']*)'", expected)


def _message(error: Mapping[str, Any]) -> tuple[list[Any], str]:
    """The (path, "problem -- fix") for one pydantic error; the path has no strategy tag."""
    raw = list(error["loc"])
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    path = [p for i, p in enumerate(raw) if p != "[key]" and not (i == 1 and raw[0] == "strategy" and p in KINDS)]
    if kind == "spec":
        extra = ctx.get("path")
        if extra:  # relative to the model that raised it
            path = path + extra.split(".")
        return path, str(ctx["text"])
    if kind == "missing":
        key = str(path[-1])
        return path, f"missing required key '{key}' -- add it, e.g. {key}: {_EXAMPLES.get(key, '...')}"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(raw[:-1])
        close = _closest(str(path[-1]), allowed)
        fix = f"did you mean '{close}'?" if close else "remove it or correct its spelling"
        return path, f"unknown key {_show(path[-1])}; allowed: {', '.join(allowed)} -- {fix}"
    if kind == "union_tag_invalid":
        close = _closest(str(ctx.get("tag", "")), KINDS)
        fix = f"did you mean '{close}'?" if close else "use one of those"
        shown = _show(value.get("kind")) if isinstance(value, dict) else _show(ctx.get("tag"))
        return path + ["kind"], f"unknown kind {shown}; allowed: {', '.join(KINDS)} -- {fix}"
    if kind == "union_tag_not_found":
        return path + ["kind"], f"missing required key 'kind' -- add it, one of: {', '.join(KINDS)}"
    if kind == "literal_error":
        choices = _choices_from(str(ctx.get("expected", "")))
        close = _closest(str(value), choices)
        fix = f"did you mean '{close}'?" if close else f"use one of: {', '.join(choices)}"
        return path, f"{_show(value)} is not allowed; allowed: {', '.join(choices)} -- {fix}"
    return path, _type_message(kind, value, str(error.get("msg", "")))


_TYPE_MESSAGES: Final = {
    ("string_type",): ("text", "put it in quotes"),
    ("decimal_type", "decimal_parsing", "float_type", "float_parsing"):
        ("a number", "write a plain number such as 100 or 0.25"),
    ("finite_number",): ("a finite number", "write a plain number such as 100 or 0.25"),
    ("int_type", "int_parsing", "int_from_float"): ("a whole number", "write a whole number such as 5"),
    ("bool_type", "bool_parsing"): ("true or false", "write true or false"),
    ("dict_type", "model_type", "model_attributes_type"): ("a mapping", "write it as indented 'key: value' lines"),
    ("list_type", "set_type", "frozen_set_type", "tuple_type"): ("a list", "write it as [A, B] or as '- A' lines"),
}


def _type_message(kind: str, value: Any, fallback: str) -> str:
    for kinds, (expected, fix) in _TYPE_MESSAGES.items():
        if kind in kinds:
            got = _show(value)
            got = f"the number {got}" if isinstance(value, (int, Decimal, _OddNumber)) and not isinstance(value, bool) \
                and expected == "text" else got
            return f"expected {expected}, got {got} -- {fix}"
    return f"{fallback} -- see flows/spec.py for what is accepted"


def _format_errors(exc: ValidationError, root: Node | None, source: str) -> list[str]:
    lines: list[tuple[int, str]] = []
    errors = exc.errors()
    misspelt = _misspelt(errors)
    for error in errors:
        if error["type"] == "missing" and tuple(error["loc"]) in misspelt:
            continue
        path, message = _message(error)
        line = _line_of(root, path)
        dotted = ".".join(str(p) for p in path)
        text = f"{source}:{line}: {dotted + ': ' if dotted else ''}{message}"
        if (line, text) not in lines:
            lines.append((line, text))
    return [text for _, text in sorted(lines, key=lambda item: item[0])]


# ---------------------------------------------------------------------------------------------
# Public entry points


def parse_spec(text: str, source: str = "<spec>") -> Spec:
    """Validate spec ``text``; ``source`` names it in messages (usually the file path)."""
    if len(text) > MAX_FILE_CHARS:
        raise SpecError([f"{source}:1: the file is {len(text)} characters, over the limit of {MAX_FILE_CHARS} "
                         f"-- a spec is a short YAML file"])
    root, data = _load_yaml(text, source)
    if data is None:
        raise SpecError([f"{source}:1: the spec is empty -- write at least name: and strategy:"])
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(_format_errors(exc, root, source)) from None


_FILE_KINDS: Final = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                      (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                      (stat.S_ISSOCK, "a socket"))


def _not_a_file(path: str | Path, mode: int) -> SpecError | None:
    if stat.S_ISREG(mode):
        return None
    kind = next((name for test, name in _FILE_KINDS if test(mode)), "not a regular file")
    return SpecError([f"{path}: the spec path is {kind}, not a regular file -- give the path of a YAML spec file"])


def _too_big(path: str | Path, size: str) -> SpecError:
    return SpecError([f"{path}: the file is {size} bytes, over the limit of {MAX_FILE_BYTES} (1 MiB) "
                      f"-- a spec is a short YAML file"])


def _read_spec_file(path: str | Path) -> bytes:
    """At most ``MAX_FILE_BYTES`` of a regular file, never blocking and never reading without end.

    ``stat`` first, so a FIFO, ``/dev/zero`` or a directory is refused without being opened; the
    open is non-blocking and checked again with ``fstat``, in case the path changed in between; the
    read stops one byte past the limit, in case the file grew.
    """
    def unreadable(reason: str) -> SpecError:
        return SpecError([f"{path}: cannot read the spec: {reason} -- check the path"])

    try:
        info = os.stat(path)
    except OSError as exc:
        raise unreadable(exc.strerror or str(exc)) from None
    except ValueError as exc:  # a NUL byte in the path
        raise unreadable(str(exc)) from None
    refusal = _not_a_file(path, info.st_mode)
    if refusal:
        raise refusal
    if info.st_size > MAX_FILE_BYTES:
        raise _too_big(path, str(info.st_size))
    chunks: list[bytes] = []
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
        try:
            refusal = _not_a_file(path, os.fstat(fd).st_mode)
            if refusal:
                raise refusal
            left = MAX_FILE_BYTES + 1
            while left > 0:
                chunk = os.read(fd, min(left, 1 << 16))
                if not chunk:
                    break
                chunks.append(chunk)
                left -= len(chunk)
        finally:
            os.close(fd)
    except OSError as exc:
        raise unreadable(exc.strerror or str(exc)) from None
    raw = b"".join(chunks)
    if len(raw) > MAX_FILE_BYTES:  # it grew after the stat
        raise _too_big(path, f"more than {MAX_FILE_BYTES}")
    return raw


def load_spec(path: str | Path) -> Spec:
    """Read and validate a spec file; every problem is a ``SpecError``, never a traceback.

    Only a regular file of at most ``MAX_FILE_BYTES`` is read (see ``_read_spec_file``): a spec
    path given by mistake (a pipe, a device, a huge file) must fail at once, not hang the CLI.
    """
    raw = _read_spec_file(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise SpecError([f"{path}:{line}: the file is not UTF-8 text -- save it as UTF-8"]) from None
    return parse_spec(text, str(path))


def check_against_instruments(spec: Spec, instruments: Mapping[str, Instrument]) -> list[str]:
    """Problems with what the venue lists, one ``path: problem -- fix`` each (empty when fine)."""
    return instrument_problems(spec, instruments)
