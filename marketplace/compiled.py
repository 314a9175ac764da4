"""The compiled core: the domain's hot modules built by Cython from their own source.

`pip install -e .` (setup.py) compiles the modules in COMPILED to extension modules next
to their .py files; Python imports an extension module ahead of the source with the same
name. Their source is the code: the same .py files run as the pure-Python fallback when
no compiler was there, when IXCHANGE_PURE_PYTHON=1, and for any module whose .py changed
after it was built (a stale build must never run in place of the code being edited:
`make build` rebuilds). Cython is told to keep Python's semantics exactly (annotations do
not become C types), so the two behave alike; a property test runs both on random command
sequences and compares every event and deal.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

log = logging.getLogger(__name__)

# The order path: books, orders, deals, events, classing and the match loop.
COMPILED = (
    "marketplace.book",
    "marketplace.changes",
    "marketplace.classing",
    "marketplace.deals",
    "marketplace.engine",
    "marketplace.events",
    "marketplace.fills",
    "marketplace.grade_choice",
    "marketplace.holdings",
    "marketplace.limits",
    "marketplace.orders",
    "marketplace.parameters",
    "marketplace.verification",
)
PURE_SETTING = "IXCHANGE_PURE_PYTHON"


def built(name: str) -> Path | None:
    """The extension module built for `name`, if there is one."""
    source = source_of(name)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = source.with_name(source.stem + suffix)
        if candidate.exists():
            return candidate
    return None


def source_of(name: str) -> Path:
    return Path(__file__).parent / f"{name.rpartition('.')[2]}.py"


def pure_requested() -> bool:
    """As Settings reads a flag (it also refuses what is neither)."""
    return os.environ.get(PURE_SETTING, "").strip().lower() in ("1", "true", "yes", "on")


class _SourceFirst(importlib.abc.MetaPathFinder):
    """Loads the .py source of a compiled module when pure Python is asked for, or when
    the source is newer than its build."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in COMPILED:
            return None
        extension = built(fullname)
        if extension is None:
            return None  # the usual finder finds the source
        source = source_of(fullname)
        if not pure_requested():
            if source.stat().st_mtime <= extension.stat().st_mtime:
                return None  # the usual finder prefers the extension
            log.warning("%s changed since it was compiled: running its source (make build)", source.name)
        return importlib.util.spec_from_file_location(fullname, source)


def install() -> None:
    if not any(isinstance(f, _SourceFirst) for f in sys.meta_path):
        sys.meta_path.insert(0, _SourceFirst())


def running_compiled() -> dict[str, bool]:
    """Which of the core modules run compiled in this process (imports them)."""
    out = {}
    for name in COMPILED:
        module = importlib.import_module(name)
        out[name] = not (module.__file__ or "").endswith(".py")
    return out
