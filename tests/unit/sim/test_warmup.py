"""Every fast-core kernel is cached on disk, and the install-time warm-up compiles the ones commands call."""

from __future__ import annotations

import inspect

import pytest
from numba.core.caching import NullCache
from numba.core.registry import CPUDispatcher

from marginlab.app.warmup import warm_up
from marginlab.sim import montecarlo_nb, nb

KERNEL_MODULES = [nb, montecarlo_nb]


def dispatchers() -> list[tuple[str, CPUDispatcher]]:
    return [
        (f"{module.__name__}.{name}", obj)
        for module in KERNEL_MODULES
        for name, obj in inspect.getmembers(module)
        if isinstance(obj, CPUDispatcher) and obj.py_func.__module__ == module.__name__
    ]


@pytest.mark.parametrize(("name", "kernel"), dispatchers(), ids=lambda x: x if isinstance(x, str) else "")
def test_every_kernel_caches_its_machine_code_on_disk(name: str, kernel: CPUDispatcher) -> None:
    assert not isinstance(kernel._cache, NullCache), f"{name} lacks cache=True"


def test_warm_up_compiles_the_kernels_the_commands_call() -> None:
    # Act
    seconds = warm_up()
    # Assert: the entry points hold a compiled signature each (from the cache or compiled now)
    assert seconds > 0.0
    for kernel in (nb.replay_nb, nb.liq_prices_nb, nb.cross_fixed_nb, montecarlo_nb.mc_run_nb):
        assert kernel.signatures, kernel.py_func.__name__
