"""State managers: where a stateful strategy keeps its JSON state.

* :class:`InMemoryStateManager`: a dict (backtests, unit tests);
* :class:`StoreStateManager`: the same, loaded from and saved to the store's ``strategy_state`` (one
  JSON object per ``strategy_id``; SQLite or PostgreSQL through ``persistence.protocol.RunStore``, or
  ``persistence.MemoryRunStore`` in tests). ``save`` writes the whole object at once; a live run
  calls it after each step with changes (``dirty``), a restart calls ``load``.

Values must be JSON-able (str, int, float, bool, None, lists, dicts with str keys): ``set`` refuses
anything else at once (``TypeError`` naming the key), so a state that could not be stored never
builds up.
"""

from __future__ import annotations

import copy
import json
from typing import Any, Protocol


class StateStore(Protocol):
    """The part of ``persistence.protocol.RunStore`` the store-backed state manager uses."""

    def save_state(self, strategy_id: str, state: dict[str, Any], run_id: str | None = None) -> None: ...

    def load_state(self, strategy_id: str) -> dict[str, Any] | None: ...


def _check_json(key: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"strategy state {key!r}: value is not JSON-able ({exc})") from None


class StateManager:
    """Key -> JSON value. ``dirty`` is True after a change until the next ``save``/``replace``."""

    def __init__(self) -> None:
        self._data: dict[str, Any] = {}
        self.dirty = False

    def get(self, key: str, default: Any = None) -> Any:
        """A deep copy of the value (changing it does not change the state)."""
        return copy.deepcopy(self._data.get(key, default))

    def set(self, key: str, value: Any) -> None:
        """Raises TypeError: a non-string key or a value that is not JSON-able."""
        if not isinstance(key, str):
            raise TypeError(f"strategy state keys are strings, got {key!r}")
        _check_json(key, value)
        if self._data.get(key, object()) != value:
            self._data[key] = copy.deepcopy(value)
            self.dirty = True

    def delete(self, key: str) -> None:
        if key in self._data:
            del self._data[key]
            self.dirty = True

    def get_all(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)

    def replace(self, data: dict[str, Any]) -> None:
        """The whole state at once (a restore). Raises TypeError like :meth:`set`."""
        for k, v in data.items():
            if not isinstance(k, str):
                raise TypeError(f"strategy state keys are strings, got {k!r}")
            _check_json(k, v)
        self._data = copy.deepcopy(dict(data))
        self.dirty = False

    def save(self) -> None:  # in memory: nothing to write
        self.dirty = False

    def load(self) -> bool:
        """Whether a stored state was found (in memory: never)."""
        return False


class InMemoryStateManager(StateManager):
    """A state manager that only keeps the state in the process."""


class StoreStateManager(StateManager):
    """A state manager backed by a store's ``strategy_state`` row ``strategy_id``.

    Args:
        store: a ``RunStore`` (or anything with ``save_state`` / ``load_state``).
        strategy_id: the row's key (non-empty).
        run_id: recorded with each save (which run wrote the state last).
    """

    def __init__(self, store: StateStore, strategy_id: str, run_id: str | None = None) -> None:
        super().__init__()
        if not strategy_id:
            raise ValueError("a store-backed state manager needs a non-empty strategy_id")
        self.store, self.strategy_id, self.run_id = store, strategy_id, run_id

    def save(self) -> None:
        """Writes the whole state (raises what the store raises, e.g. ``StoreUnavailable``)."""
        self.store.save_state(self.strategy_id, self._data, self.run_id)
        self.dirty = False

    def load(self) -> bool:
        stored = self.store.load_state(self.strategy_id)
        if stored is None:
            return False
        self.replace(stored)
        return True
