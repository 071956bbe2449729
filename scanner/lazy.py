"""A module imported on first use, so that light commands do not pay for heavy libraries.

``kvaudit --version`` and ``kvaudit rules`` import the rule catalogue (its metadata is declared
next to each check, once), but they never run a check; pandas and numpy cost a third of a second
to import, more than everything else those commands do. A module that writes
``pd = lazy("pandas")`` at its top keeps ``pd.DataFrame`` and friends in its check bodies
unchanged, and pandas is imported only when a check first touches it.
"""

from __future__ import annotations

import importlib
import types
from typing import Any


class _LazyModule(types.ModuleType):
    """Stands in for a module until an attribute is read, then imports it and takes over its
    namespace, so every later lookup is an ordinary attribute read with no extra call."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__dict__["_lazy_target"] = name

    def __getattr__(self, attr: str) -> Any:
        # Only reached for names not yet in this object's namespace: the first read, and names
        # the real module creates later (submodules imported after the copy, module __getattr__).
        module = importlib.import_module(self.__dict__["_lazy_target"])
        self.__dict__.update(module.__dict__)
        return getattr(module, attr)

    def __dir__(self) -> list[str]:
        return dir(importlib.import_module(self.__dict__["_lazy_target"]))


def lazy(name: str) -> Any:
    """``name`` as a module that is imported when one of its attributes is first read.

    Typed ``Any`` because callers use it exactly as the real module; annotations that name
    its types are strings (``from __future__ import annotations``), and type checkers read the
    real module through a ``TYPE_CHECKING`` import."""
    return _LazyModule(name)
