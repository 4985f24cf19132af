"""A few finished pictures and pages, kept across reruns (the newest `size`, shared by sessions).

Making them is the slow part (`dot` on a big graph, a stepper page's every step);
two sessions asking at once may both make one, and the later simply replaces it.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Hashable


class Kept:
    """key -> text, least recently used out first; safe across Streamlit's threads."""

    def __init__(self, size: int):
        self.size = size
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, str] = OrderedDict()

    def get(self, key: Hashable, make: Callable[[], str]) -> str:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        made = make()  # outside the lock: other sessions keep reading while this one draws
        with self._lock:
            self._items[key] = made
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return made

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
