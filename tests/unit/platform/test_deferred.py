"""Deferred modules: an ``import`` costs nothing, the first attribute read imports the real module."""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcs_backup.platform import coldstart, deferred
from dcs_backup.platform.deferred import DeferredModule

# Each module appends its name to this list when its code runs.
RUNS_KEY = "dcs_backup_test_deferred_runs"


@pytest.fixture
def modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A package ``defer_pkg`` with a module ``heavy`` and a submodule ``sub.leaf``, each recording its runs."""
    record = f"import sys\nsys.modules['builtins'].__dict__.setdefault('{RUNS_KEY}', []).append(__name__)\n"
    package = tmp_path / "defer_pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "heavy.py").write_text(record + "ANSWER = 42\ndef twice(n):\n    return 2 * n\n", encoding="utf-8")
    (package / "sub" / "__init__.py").write_text("", encoding="utf-8")
    (package / "sub" / "leaf.py").write_text(record + "VALUE = 'leaf'\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    runs: list[str] = []
    monkeypatch.setattr("builtins." + RUNS_KEY, runs, raising=False)
    yield runs
    for name in [name for name in sys.modules if name.split(".")[0] == "defer_pkg"]:
        del sys.modules[name]


class TestDefer:
    def test_an_import_statement_does_not_run_the_module(self, modules: list[str]) -> None:
        # GIVEN a deferred module, WHEN code imports it
        deferred.defer("defer_pkg.heavy")
        from defer_pkg import heavy  # type: ignore[import-not-found]

        # THEN nothing of it has run yet
        assert isinstance(heavy, DeferredModule)
        assert not heavy.is_loaded
        assert modules == []

    def test_the_first_attribute_read_imports_it_once(self, modules: list[str]) -> None:
        # GIVEN a deferred module that code has imported
        deferred.defer("defer_pkg.heavy")
        import defer_pkg.heavy as heavy  # type: ignore[import-not-found]

        # WHEN its attributes are read, THEN they are the real module's, which ran once
        assert heavy.ANSWER == 42
        assert heavy.twice(4) == 8
        assert modules == ["defer_pkg.heavy"]
        # AND the real module replaces the stand-in for later imports
        assert not isinstance(sys.modules["defer_pkg.heavy"], DeferredModule)
        assert sys.modules["defer_pkg.heavy"].ANSWER == 42

    def test_a_from_import_of_a_name_gets_the_real_value(self, modules: list[str]) -> None:
        deferred.defer("defer_pkg.heavy")
        from defer_pkg.heavy import twice  # type: ignore[import-not-found]

        assert twice(3) == 6
        assert modules == ["defer_pkg.heavy"]

    def test_a_deferred_submodule_leaves_its_sibling_packages_alone(self, modules: list[str]) -> None:
        # GIVEN a deferred module deep in a package, WHEN code imports it by a from-import of the module
        deferred.defer("defer_pkg.sub.leaf")
        from defer_pkg.sub import leaf  # type: ignore[import-not-found]

        # THEN it has not run until it is read
        assert modules == []
        assert leaf.VALUE == "leaf"
        assert modules == ["defer_pkg.sub.leaf"]

    def test_threads_reading_at_once_import_it_once(self, modules: list[str]) -> None:
        # GIVEN a deferred module and eight threads released together
        deferred.defer("defer_pkg.heavy")
        import defer_pkg.heavy as heavy  # type: ignore[import-not-found]

        start = threading.Barrier(8)
        answers: list[int] = []

        def read() -> None:
            start.wait()
            answers.append(heavy.ANSWER)

        threads = [threading.Thread(target=read) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # THEN each got the value, and the module ran once
        assert answers == [42] * 8
        assert modules == ["defer_pkg.heavy"]

    def test_an_imported_module_is_left_as_it_is(self, modules: list[str]) -> None:
        import defer_pkg.heavy  # type: ignore[import-not-found]

        deferred.defer("defer_pkg.heavy")

        assert sys.modules["defer_pkg.heavy"] is defer_pkg.heavy
        assert modules == ["defer_pkg.heavy"]

    def test_a_package_is_refused(self, modules: list[str]) -> None:
        # Importing a submodule would load the package through the stand-in and then the submodule twice.
        with pytest.raises(ValueError, match="is a package"):
            deferred.defer("defer_pkg.sub")
        assert "defer_pkg.sub" not in sys.modules

    def test_a_missing_module_is_an_error_at_once(self, modules: list[str]) -> None:
        with pytest.raises(ModuleNotFoundError, match=r"defer_pkg\.absent"):
            deferred.defer("defer_pkg.absent")


class TestLoading:
    @pytest.fixture(autouse=True)
    def _restore_collector(self, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        monkeypatch.setattr(coldstart, "DEFERRED_MODULES", ())
        collecting = gc.isenabled()
        yield
        gc.unfreeze()
        if collecting:
            gc.enable()

    def test_imports_run_with_the_collector_paused_and_what_they_built_is_frozen(self) -> None:
        gc.enable()
        gc.unfreeze()
        with coldstart.loading():
            paused = not gc.isenabled()
            built = [[n] for n in range(100)]
        assert paused
        assert gc.isenabled()
        assert gc.get_freeze_count() >= len(built)

    def test_a_collector_that_was_off_stays_off(self) -> None:
        gc.disable()
        with coldstart.loading():
            pass
        assert not gc.isenabled()

    def test_a_failed_import_still_resumes_the_collector(self) -> None:
        gc.enable()
        with pytest.raises(ImportError), coldstart.loading():
            raise ImportError("boom")
        assert gc.isenabled()
