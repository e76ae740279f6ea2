"""One BLAS thread for a request's or a task's small matrix products.

OpenBLAS spreads a product over every core once it passes a small size, and on 2 cores that other
requests and workers hold the threads wait for each other: the recommender's 450 x 384 product took
~17 ms against ~1.5 ms on one thread, PDQ's 16 x 256 x 256 ones ~9 ms against ~0.2 (measured under
load). Work that is parallel already (requests, worker processes) gains nothing from more.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from threadpoolctl import ThreadpoolController

P = ParamSpec("P")
R = TypeVar("R")


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


def one_blas_thread() -> Any:
    """A context manager: BLAS on one thread inside it."""
    return _controller().limit(limits=1, user_api="blas")


def on_one_blas_thread(function: Callable[P, R]) -> Callable[P, R]:
    """`function` with BLAS on one thread while it runs."""

    @functools.wraps(function)
    def limited(*args: P.args, **kwargs: P.kwargs) -> R:
        with one_blas_thread():
            return function(*args, **kwargs)

    return limited
