"""Typed records of the JSON files Foveal reads: a file becomes frozen dataclasses, and its shape is checked from
their type hints, in one place (pydantic's idea, without the dependency).

A field's type hint says what its key holds: ``str``, ``int``, ``float``, ``bool``, another :class:`Record`,
``tuple[X, ...]`` (a list), ``tuple[float, float]`` (a list of two), ``Mapping[str, X]`` (an object) or ``Any``;
``X | None`` lets it be null. A field without a default must be there; one with a default may be missing. Keys a
record does not name are kept as they are (:attr:`Record.extra`), and keys that were missing stay missing
(:attr:`Record.absent`), so :meth:`Record.to_dict` gives back the object it was read from.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Self

#: A function that checks one JSON value and returns what the field holds.
Reader = Callable[[object], object]


class ShapeError(ValueError):
    """A value of the wrong kind, in words naming its key; the reader of the file turns it into a user error that
    names the file and what to do.

    ``words`` holds ``{}`` where the key goes; the key is put together as the error passes up through the objects
    and lists around the value (:meth:`within`), so reading a sound file builds no key names at all.
    """

    def __init__(self, words: str, path: tuple[str | int, ...] = ()) -> None:
        super().__init__(words, path)
        self.words, self.path = words, path

    def within(self, name: str | int) -> ShapeError:
        """The same error, one level further out (``name``: the key or list index the value sat at)."""
        return ShapeError(self.words, (name, *self.path))

    def __str__(self) -> str:
        key = ""
        for p in self.path:
            key += f"[{p}]" if isinstance(p, int) else f".{p}" if key else p
        return self.words.format(key or "the file")


@dataclass(frozen=True)
class Record:
    """Base of a typed part of a JSON file: ``parse`` checks and reads it, ``to_dict`` writes it back."""

    #: Keys of the object that the record does not name, kept as they were.
    extra: Mapping[str, Any] = field(default_factory=dict, kw_only=True, repr=False)
    #: Keys the record names that the object did not have (older files lack some).
    absent: frozenset[str] = field(default=frozenset(), kw_only=True, repr=False)

    @classmethod
    def parse(cls, value: object) -> Self:
        """The record a JSON object holds.

        Raises
        ------
        ShapeError
            When a key the record needs is missing, or a value is of the wrong kind.
        """
        return typing.cast(Self, _plan(cls).read(value))

    def to_dict(self) -> dict[str, Any]:
        """The JSON object this record was read from (or would be written as)."""
        out = {f.key: _plain(getattr(self, f.attr)) for f in _plan(type(self)).fields if f.key not in self.absent}
        out.update(_plain(dict(self.extra)))
        return out


def shown(value: object) -> str:
    """A value as one short line for a message."""
    text = json.dumps(value, ensure_ascii=True) if not isinstance(value, (dict, list)) else (
        "an object" if isinstance(value, dict) else "a list")
    return text if len(text) <= 60 else text[:57] + "…"


def depth(value: object, limit: int) -> int:
    """How deeply ``value`` nests lists and objects, counted up to just past ``limit`` (without recursion: it may
    be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            if d <= limit:
                stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


# ---- reading by type hints -------------------------------------------------------------------------------------

_SCALARS: dict[object, tuple[str, Callable[[object], bool]]] = {
    str: ("text", lambda v: isinstance(v, str)),
    int: ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool)),
    float: ("a number", lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)),
    bool: ("true or false", lambda v: isinstance(v, bool)),
}


def _kind(value: object, words: str, fits: Callable[[object], bool]) -> Any:
    """``value`` when it fits, else a :class:`ShapeError` saying what it should be."""
    if fits(value):
        return value
    if value is None:
        raise ShapeError(f"'{{}}' is null; it should be {words}")
    raise ShapeError(f"'{{}}' should be {words}, not {shown(value).replace('{', '{{').replace('}', '}}')}")


def _is_list(v: object) -> bool:
    return isinstance(v, list)


def _is_object(v: object) -> bool:
    return isinstance(v, dict)


def _items(read: Reader, values: list | dict) -> Any:
    """Each item of a list (a tuple) or value of an object (a dict) read; an error names the item."""
    pairs = enumerate(values) if isinstance(values, list) else values.items()
    out = {}
    for name, value in pairs:
        try:
            out[name] = read(value)
        except ShapeError as exc:
            raise exc.within(name) from None
    return tuple(out.values()) if isinstance(values, list) else out


def _reader(hint: Any) -> Reader:
    """How to read a value of the type ``hint``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return lambda v: v
    if origin in (typing.Union, types.UnionType):
        inner = _reader(next(a for a in args if a is not type(None)))  # only ``X | None`` is used
        return lambda v: None if v is None else inner(v)
    if isinstance(hint, type) and issubclass(hint, Record):
        return lambda v: _plan(hint).read(v)
    if hint in _SCALARS:
        words, fits = _SCALARS[hint]
        return lambda v: _kind(v, words, fits)
    if origin is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _reader(args[0])
        return lambda v: _items(item, _kind(v, "a list", _is_list))
    if origin is tuple:
        words, n = f"a list of {len(args)} numbers", len(args)
        parts = [_reader(a) for a in args]
        return lambda v: tuple(r(x) for r, x in zip(
            parts, _kind(v, words, lambda x: isinstance(x, list) and len(x) == n), strict=True))
    if origin is Mapping:
        value = _reader(args[1])
        return lambda v: _items(value, _kind(v, "an object", _is_object))
    raise TypeError(f"a record field cannot be of type {hint!r}")


@dataclass(frozen=True)
class _Field:
    attr: str
    key: str
    required: bool
    read: Reader


@dataclass(frozen=True)
class _Plan:
    """How to read one record class: its fields, in order, each with its key and reader."""

    cls: type[Record]
    fields: tuple[_Field, ...]
    keys: frozenset[str]

    def read(self, value: object) -> Record:
        obj: dict = _kind(value, "an object", _is_object)
        kwargs: dict[str, object] = {}
        absent = []
        for f in self.fields:
            if f.key in obj:
                try:
                    kwargs[f.attr] = f.read(obj[f.key])
                except ShapeError as exc:
                    raise exc.within(f.key) from None
            elif f.required:
                raise ShapeError("'{}' is missing", (f.key,))
            else:
                absent.append(f.key)
        extra = {k: v for k, v in obj.items() if k not in self.keys} if len(obj) > len(kwargs) else {}
        return self.cls(**kwargs, extra=extra, absent=frozenset(absent) if absent else _NONE)


_PLANS: dict[type, _Plan] = {}
_NONE: frozenset[str] = frozenset()


def _plan(cls: type[Record]) -> _Plan:
    """The reading plan of a record class, made once from its type hints."""
    plan = _PLANS.get(cls)
    if plan is None:
        hints = typing.get_type_hints(cls)
        found = tuple(_Field(f.name, f.metadata.get("key", f.name),
                             f.default is MISSING and f.default_factory is MISSING, _reader(hints[f.name]))
                      for f in fields(cls) if f.name not in ("extra", "absent"))
        plan = _PLANS[cls] = _Plan(cls, found, frozenset(f.key for f in found))
    return plan


def _plain(value: object) -> Any:
    """A record's value as JSON data (records as objects, tuples as lists), copied."""
    if isinstance(value, Record):
        return value.to_dict()
    if isinstance(value, (tuple, list)):
        return [_plain(x) for x in value]
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value
