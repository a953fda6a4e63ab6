"""Modules that are imported only when code first reads one of their attributes.

The SDK imports modules at load time that the function never calls: ``configparser`` (its
credentials-file provider) and pyasn1's codecs (its SM2 and ECDSA signers). ``defer(name)`` puts a
stand-in in ``sys.modules`` so that their ``import`` statements cost nothing; the real module is
imported on the first attribute read, and the stand-in forwards every later read to it, so a path
that does use one still works, only later. The standard ``importlib.util.LazyLoader`` is no use
here: an ``import`` statement already reads its module's ``__spec__``, which makes it load at once.
Only plain modules can be deferred, not packages (see ``defer``).
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any


class DeferredModule(ModuleType):
    """Stands in for a module until an attribute is read, then imports it and forwards to it."""

    def __init__(self, spec: ModuleSpec) -> None:
        super().__init__(spec.name)
        self.__spec__ = spec
        self.__dict__["_deferred_lock"] = threading.RLock()
        self.__dict__["_deferred_module"] = None

    @property
    def is_loaded(self) -> bool:
        return self.__dict__["_deferred_module"] is not None

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._load(), attribute)

    def _load(self) -> ModuleType:
        with self.__dict__["_deferred_lock"]:
            module: ModuleType | None = self.__dict__["_deferred_module"]
            if module is None:
                if sys.modules.get(self.__name__) is self:
                    del sys.modules[self.__name__]
                module = importlib.import_module(self.__name__)
                self.__dict__["_deferred_module"] = module
            return module


def defer(name: str) -> None:
    """Make ``import name`` cheap until an attribute is read; a no-op once the module is imported.

    Raises ModuleNotFoundError for a module that is not installed, so a renamed dependency is
    noticed at once rather than on the rare path that needs it.
    """
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ModuleNotFoundError(f"no module named {name!r} to defer", name=name)
    if spec.submodule_search_locations is not None:
        # ``import package.sub`` reads the stand-in's ``__path__``, which loads the package, and then
        # imports ``package.sub`` a second time: two copies of the submodule, and a lock-order deadlock.
        raise ValueError(f"{name!r} is a package; only plain modules can be deferred")
    stand_in = DeferredModule(spec)
    sys.modules[name] = stand_in
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, stand_in)
