"""The compiled billing modules (gateway/compiled.py): the build's state from the files' times, the guard that
imports the sources while a build is outdated, and — under ``make test``, which builds first — that the
suite really runs the compiled code."""

from __future__ import annotations

import importlib
import importlib.machinery
import os
import sys
from pathlib import Path

import pytest

import gateway
from gateway import compiled

_MODULES = ("pkg.alpha", "pkg.beta")
_SO = importlib.machinery.EXTENSION_SUFFIXES[0]


def _tree(root: Path, *, built: tuple[str, ...], source_ns: int, build_ns: int) -> None:
    """``pkg/alpha.py`` and ``pkg/beta.py``; extensions of those ``built`` (``library``: the shared one)."""
    (root / "pkg").mkdir()
    (root / "gateway").mkdir()
    for name in ("alpha", "beta"):
        source = root / "pkg" / f"{name}.py"
        source.write_text("VALUE = 1\n")
        os.utime(source, ns=(source_ns, source_ns))
    for name in built:
        extension = root / ("gateway/compiled__mypyc" if name == "library" else f"pkg/{name}")
        extension = extension.with_name(extension.name + _SO)
        extension.write_bytes(b"")
        os.utime(extension, ns=(build_ns, build_ns))


@pytest.mark.parametrize(("built", "source_ns", "build_ns", "expected"), [
    ((), 1_000, 2_000, "absent"),
    (("alpha", "beta", "library"), 1_000, 2_000, "current"),
    (("alpha", "beta", "library"), 3_000, 2_000, "outdated"),  # a source edited after the build
    (("alpha", "library"), 1_000, 2_000, "outdated"),  # one module not built
    (("alpha", "beta"), 1_000, 2_000, "outdated"),  # the shared library missing
])
def test_the_build_state_follows_the_files(
    tmp_path: Path, built: tuple[str, ...], source_ns: int, build_ns: int, expected: str
) -> None:
    _tree(tmp_path, built=built, source_ns=source_ns, build_ns=build_ns)
    assert compiled.state(tmp_path, _MODULES) == expected


def test_an_outdated_build_imports_every_listed_module_from_its_source() -> None:
    finder = compiled._FromSource()
    for module in compiled.MODULES:
        spec = finder.find_spec(module, None)
        assert spec is not None and spec.origin == str(compiled._source(module)), module
        assert isinstance(spec.loader, importlib.machinery.SourceFileLoader), module
    assert finder.find_spec("gateway.billing.worker", None) is None  # not a compiled one: the usual way


def test_the_guard_is_installed_only_for_an_outdated_build(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = list(sys.meta_path)
    monkeypatch.setattr(sys, "meta_path", path)
    monkeypatch.setattr(compiled, "state", lambda: "current")
    assert compiled.install_guard() == "current" and sys.meta_path == path
    monkeypatch.setattr(compiled, "state", lambda: "outdated")
    assert compiled.install_guard() == "outdated"
    assert "older than their sources" in caplog.text
    assert isinstance(sys.meta_path[0], compiled._FromSource)
    compiled.install_guard()  # a second time: no second finder
    assert sum(isinstance(finder, compiled._FromSource) for finder in sys.meta_path) == 1


@pytest.mark.skipif(os.environ.get("PROUD_TEST_COMPILED") != "1", reason="`make test` builds, then sets it")
def test_make_test_runs_the_compiled_modules() -> None:
    assert gateway.COMPILED == "current"
    for module in compiled.MODULES:
        assert importlib.import_module(module).__file__.endswith(_SO), module  # type: ignore[union-attr]
