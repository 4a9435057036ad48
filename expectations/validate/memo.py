"""One conversion per GX expectation object, and one ID per set of metric arguments, while one of
our validations runs."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

# GX (1.24) rebuilds an expectation from its configuration (ExpectationConfiguration.to_domain_obj)
# and re-derives the configuration from the expectation (Expectation.configuration, a pydantic
# deep dict, value sets included) again and again: some 130 times per expectation and validation,
# and with the 1,741 codes of a national survey that was most of the time of a validation. While
# one of our validations runs, each object converts once. The memo lives only for that call (and
# that thread or task): GX does not change these objects while it validates.
# GX also gives each of its ~2,900 metric configurations per validation an ID by serialising their
# arguments again (IDDict.to_id), value sets of every municipality code included: a fifth to a
# third of a validation. While one of ours runs, arguments alike get their ID once.
_MEMO: ContextVar[dict[tuple[Any, ...], tuple[Any, Any]] | None] = ContextVar(
    "gx_conversion_memo", default=None
)
_SCALARS = frozenset({str, int, float, bool, type(None)})
_MEMO_INSTALLED = False
_MEMO_LOCK = threading.Lock()


def _memoized(kind: str, convert: Any) -> Any:
    """`convert(obj)`, looked up in (and added to) the memo of the running validation, if any."""

    def memoized(obj: Any) -> Any:
        memo = _MEMO.get()
        if memo is None:
            return convert(obj)
        hit = memo.get((kind, id(obj)))
        if hit is None or hit[0] is not obj:  # the memo holds obj, so its id is not reused meanwhile
            hit = memo[(kind, id(obj))] = (obj, convert(obj))
        return hit[1]

    return memoized


def _memoized_id(to_id: Any) -> Any:
    """IDDict.to_id, looked up in the memo of the running validation, if any, by the dict's items:
    scalars by value (and type: 1, 1.0 and True serialise differently), anything else by identity
    (the memo holds those objects, so their ids are not reused meanwhile)."""

    def memoized(self: Any, id_keys: Any = None, id_ignore_keys: Any = None) -> Any:
        memo = _MEMO.get()
        if memo is None or id_keys is not None or id_ignore_keys is not None:
            return to_id(self, id_keys, id_ignore_keys)
        items = frozenset(
            (key, value.__class__, value) if value.__class__ in _SCALARS else (key, None, id(value))
            for key, value in self.items()
        )
        memo_key = ("id", self.__class__, frozenset(self._id_ignore_keys), items)
        hit = memo.get(memo_key)
        if hit is None:
            hit = memo[memo_key] = (tuple(self.values()), to_id(self))
        return hit[1]

    return memoized


def _memoize_conversions() -> None:
    """Route GX's two conversions and its metric IDs through the memo (once per process; a no-op
    for a GX whose classes no longer look like this)."""
    global _MEMO_INSTALLED
    from great_expectations.core.id_dict import IDDict
    from great_expectations.expectations.expectation import Expectation
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    with _MEMO_LOCK:
        if _MEMO_INSTALLED:
            return
        _MEMO_INSTALLED = True
        # GX's own methods are replaced on purpose (memoised per validation); mypy sees a method
        # assignment, hence the two ignores below.
        configuration = Expectation.__dict__.get("configuration")
        if isinstance(configuration, property) and configuration.fget is not None:
            Expectation.configuration = property(  # type: ignore[method-assign, assignment]
                _memoized("configuration", configuration.fget), doc=configuration.__doc__
            )
        to_domain_obj = ExpectationConfiguration.__dict__.get("to_domain_obj")
        if callable(to_domain_obj):
            ExpectationConfiguration.to_domain_obj = _memoized("domain", to_domain_obj)  # type: ignore[method-assign]
        to_id = IDDict.__dict__.get("to_id")
        if callable(to_id):
            IDDict.to_id = _memoized_id(to_id)  # type: ignore[method-assign]


@contextlib.contextmanager
def _conversions_memoized() -> Iterator[None]:
    token = _MEMO.set({})
    try:
        yield
    finally:
        _MEMO.reset(token)
