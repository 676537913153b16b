"""The table in ``marginlab.sim.nb``'s docstring pairs every fast function with the exact one it mirrors.

It is read here: every name on both sides must exist (a rename fails this test, it never skips), and every
kernel of the replay module appears in it.
"""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from numba.core.registry import CPUDispatcher

from marginlab.sim import nb

ROW = re.compile(r"^((?:``\w+``(?:, )?)+)\s{2,}``([\w.]+)``\s*$")


def table() -> list[tuple[list[str], str]]:
    rows = []
    for line in (nb.__doc__ or "").splitlines():
        match = ROW.match(line)
        if match:
            rows.append((re.findall(r"``(\w+)``", match.group(1)), match.group(2)))
    return rows


def resolve(dotted: str) -> object:
    """Return ``marginlab.<dotted>``: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module("marginlab." + ".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        for name in parts[cut:]:
            obj = getattr(obj, name)
        return obj
    raise ModuleNotFoundError(dotted)


def test_the_table_is_there() -> None:
    assert len(table()) >= 30


@pytest.mark.parametrize(("fast", "exact"), table(), ids=lambda x: x if isinstance(x, str) else x[0])
def test_both_sides_of_every_row_exist(fast: list[str], exact: str) -> None:
    for name in fast:
        assert isinstance(getattr(nb, name), CPUDispatcher), name
    assert callable(resolve(exact)), exact


def test_every_replay_kernel_is_in_the_table() -> None:
    named = {name for fast, _ in table() for name in fast}
    kernels = {
        name
        for name, obj in inspect.getmembers(nb)
        if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == nb.__name__
    }
    # named as such in the docstring
    bookkeeping = {"_book_remove", "_emit", "_close_slot", "_pack_bands_nb", "_compact_ok"}
    assert all(f"``{name}``" in (nb.__doc__ or "") for name in bookkeeping)
    assert kernels - named == bookkeeping
