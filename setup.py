"""Builds the compiled core (marketplace/compiled.py lists it) with Cython when it and a C
compiler are there; without them the package installs and runs as pure Python."""

from __future__ import annotations

import sys

from setuptools import Extension, setup

sys.path.insert(0, ".")
from marketplace.compiled import COMPILED

try:
    from Cython.Build import cythonize
except ImportError:  # pure Python
    extensions: list[Extension] = []
else:
    extensions = cythonize(
        [Extension(name, [name.replace(".", "/") + ".py"], optional=True) for name in COMPILED],
        language_level=3,
        quiet=True,
        # Python's semantics exactly: annotations stay annotations, functions stay
        # introspectable, integers never wrap.
        compiler_directives={"annotation_typing": False, "binding": True},
    )

setup(ext_modules=extensions)
