"""Load only the DCS SDK model classes the function uses, not all ~400 of them.

``huaweicloudsdkdcs.v2`` and ``huaweicloudsdkdcs.v2.model`` import every model module in their
``__init__`` (≈70 ms and ≈9 MiB of a cold start), although the client resolves the few types it
needs by name (``getattr(model_package, "ShowInstanceResponse")``). ``install()`` registers both
packages as modules whose attributes are imported on first access (PEP 562 ``__getattr__``),
without editing the vendored SDK. Which module holds which class is read from the text of each
package's own ``__init__`` (never executed, never guessed), so a name the SDK does not export
raises AttributeError instead of resolving to a wrong class. Tested against the pinned SDK.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
from types import ModuleType
from typing import Any

LAZY_PACKAGES = ("huaweicloudsdkdcs.v2", "huaweicloudsdkdcs.v2.model")


def install() -> None:
    """Make the SDK's model packages lazy; a no-op for a package that is already imported."""
    for name in LAZY_PACKAGES:
        if name not in sys.modules:
            sys.modules[name] = _lazy_package(name)


def exports(package: str) -> dict[str, str]:
    """``{class name: module}`` from the package ``__init__``'s ``from <package>.<module> import <Class>`` lines."""
    spec = importlib.util.find_spec(package)
    source = spec.loader.get_source(package) if spec and spec.loader else None  # type: ignore[attr-defined]
    if not source:
        raise ImportError(f"cannot read the source of {package}/__init__.py to resolve its names lazily")
    line = re.compile(rf"^from {re.escape(package)}\.([\w.]+) import (\w+)$", re.MULTILINE)
    return {name: f"{package}.{module}" for module, name in line.findall(source)}


def _lazy_package(name: str) -> ModuleType:
    spec = importlib.util.find_spec(name)
    if spec is None:
        raise ModuleNotFoundError(f"no module named {name!r}", name=name)
    package = importlib.util.module_from_spec(spec)
    modules = exports(name)

    def __getattr__(attribute: str) -> Any:  # noqa: N807 - PEP 562 hook
        module = modules.get(attribute)
        if module is None:
            raise AttributeError(f"module {name!r} has no attribute {attribute!r}")
        value = getattr(importlib.import_module(module), attribute)
        setattr(package, attribute, value)
        return value

    package.__getattr__ = __getattr__  # type: ignore[method-assign]
    parent, _, child = name.rpartition(".")
    setattr(importlib.import_module(parent), child, package)
    return package
