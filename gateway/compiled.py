"""The billing modules compiled with mypyc, and the guard that keeps an outdated build from running.

A mass billing run spends its Python time in a few modules: the batch's reads and steps, the readings'
timeline and consumption, rating, the settlement, the checks and their decision tables. mypyc compiles them
to C extensions from the same annotated source (one billing process, 10,000 settlements: 0.219–0.239 ms of
CPU a settlement with the first 21 of these modules, 0.249–0.252 ms with the pure ones only, 0.286–0.300 ms
interpreted, measured on one day; the machine's speed varies by a fifth from hour to hour).
``make compiled`` builds them in place (``build``): beside each ``x.py`` an ``x.<abi>.so``, and one shared
library of their code (``LIBRARY``).

Python imports an extension before a source of the same name, so a build older than a source would run the
old code. ``install_guard`` (run when ``gateway`` is imported) puts a finder first that, while any compiled
module's source is newer than its build, or a build is missing, imports *all* of them from their sources —
all, because compiled modules call one another inside the shared library, past the module objects — and
says so once. ``make`` builds again when a source changed. Without a compiler nothing is built and all runs
from source.

A module listed here must not be subclassed or monkeypatched by other code (mypyc's classes and constants
are fixed at build time), and its annotations are checked at run time: a SQLAlchemy row is typed ``Any``
where its stubs would say a tuple.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Final, Literal

MODULES: Final = (
    "gateway.billing.readings.timeline",
    "gateway.readings.register_text",
    "gateway.billing.readings.compute",
    "gateway.billing.readings.service",
    "gateway.billing.readings.plausibility",
    "gateway.billing.split",
    "gateway.billing.rating",
    "gateway.billing.rating_plan",
    "gateway.billing.settlement",
    "gateway.billing.consumption",
    "gateway.billing.bill_checks",
    "gateway.billing.checks",
    "gateway.billing.deposits",
    "gateway.billing.bill_inputs",
    "gateway.billing.bill_terms",
    "gateway.billing.quote",
    "gateway.billing.technical",
    "gateway.billing.billed_readings",
    "gateway.billing.bill",
    "gateway.billing.batch",
    "gateway.billing.batch_inputs",
    "gateway.billing.batch_ledger",
    "gateway.billing.ledger",
    "gateway.masterdata.contract_read",
    "gateway.masterdata.opm_rows",
    "gateway.store.copy_fields",
    "gateway.process.decision_table",
)
ROOT: Final = Path(__file__).resolve().parent.parent
#: The shared library holding the modules' code, inside the package: the console scripts' ``sys.path`` has
#: the packages of the editable install, not the repository's root, where mypyc would put it by default.
GROUP: Final = "gateway.compiled"
LIBRARY: Final = f"{GROUP}__mypyc"  # mypyc's name for a group's library
_SETUP: Final = (
    "import sys; from setuptools import setup; from mypyc.build import mypycify; "
    f"setup(name='proud-compiled', ext_modules=mypycify(sys.argv[1:], group_name={GROUP!r}), "
    "script_args=['build_ext', '--inplace'])"
)
#: The build's own limit: mypyc and the C compiler over the modules take about a minute on 2 cores.
BUILD_TIMEOUT_S: Final = 900
BuildState = Literal["current", "outdated", "absent"]


def _source(module: str, root: Path = ROOT) -> Path:
    return root.joinpath(*module.split(".")).with_suffix(".py")


def _extension(module: str, root: Path = ROOT) -> Path:
    source = _source(module, root)
    return source.with_name(source.stem + importlib.machinery.EXTENSION_SUFFIXES[0])


def state(root: Path = ROOT, modules: Sequence[str] = MODULES) -> BuildState:
    """``current``: the modules and their library built after a source last changed; ``absent``: none."""
    built = [_extension(module, root) for module in (*modules, LIBRARY) if _extension(module, root).exists()]
    if not built:
        return "absent"
    if len(built) < len(modules) + 1:
        return "outdated"
    oldest_build = min(path.stat().st_mtime_ns for path in built)
    newest_source = max(_source(module, root).stat().st_mtime_ns for module in modules)
    return "current" if oldest_build > newest_source else "outdated"


class _FromSource(importlib.abc.MetaPathFinder):
    """Finds the listed modules' sources, ahead of their (outdated) extensions."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MODULES:
            return None
        return importlib.util.spec_from_file_location(fullname, _source(fullname))


def install_guard() -> BuildState:
    """The build's state; when outdated, the listed modules import from source from now on."""
    found = state()
    if found == "outdated" and not any(isinstance(finder, _FromSource) for finder in sys.meta_path):
        sys.meta_path.insert(0, _FromSource())
        logging.getLogger(__name__).warning(
            "the compiled billing modules are older than their sources: running the sources; `make compiled` "
            "builds them again"
        )
    return found


def build() -> None:
    """Compile the modules in place unless the build is current (mypyc, from the dev tools)."""
    if state() == "current":
        return
    sources = [str(_source(module).relative_to(ROOT)) for module in MODULES]
    subprocess.run([sys.executable, "-c", _SETUP, *sources], cwd=ROOT, check=True, timeout=BUILD_TIMEOUT_S,
                   stdout=subprocess.DEVNULL)
    # The build is of the sources as they are now. Its files need not say so: a module's own extension is a
    # thin loader of the shared library that is rebuilt only when the module set changes, and setuptools
    # copies every file with the time it was linked.
    for module in (*MODULES, LIBRARY):
        os.utime(_extension(module))
    assert state() == "current", "mypyc ran but the build is not current"
