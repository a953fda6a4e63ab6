"""The deferred stand-ins (dcs_backup/platform/deferred.py, coldstart.py) seen from the process the function lives in.

Each test runs the unzipped function in a fresh ``python3.12 -I -S`` (as FunctionGraph runs it): in the
pytest process asyncio is already imported, so ``defer`` would be a no-op there.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
import zipfile
from pathlib import Path

import pytest

from devkit.zip_probe import python312

IMPORT_HANDLER = "import sys\nsys.path.insert(0, sys.argv[1])\nimport handler\n"


@pytest.fixture(scope="module")
def function_dir(package: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("function")
    with zipfile.ZipFile(package) as archive:
        archive.extractall(target)
    return target


def _run(function_dir: Path, code: str, *, handler: bool = True, timeout: float = 60) -> dict[str, object]:
    source = (IMPORT_HANDLER if handler else "import sys\n") + textwrap.dedent(code)
    done = subprocess.run(
        [python312(), "-I", "-S", "-c", source, str(function_dir)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# Ways code elsewhere in the process (the runtime, a library, pickle) first reaches asyncio by a submodule name.
FIRST_TOUCH_BY_SUBMODULE = {
    "import asyncio.events": "import asyncio.events",
    "from asyncio.events import ...": "from asyncio.events import AbstractEventLoop",
    "importlib.import_module": "import importlib; importlib.import_module('asyncio.events')",
    # pickle.dumps(asyncio.AbstractEventLoop) made by another process: its module is "asyncio.events"
    "pickle.loads": "import pickle; pickle.loads(bytes.fromhex("
    "'80049528000000000000008c0e6173796e63696f2e6576656e7473948c1141627374726163744576656e744c6f6f709493942e'))",
}


class TestAsyncioSubmodulesAfterTheHandlerIsImported:
    @pytest.mark.parametrize("first_touch", FIRST_TOUCH_BY_SUBMODULE.values(), ids=FIRST_TOUCH_BY_SUBMODULE.keys())
    def test_asyncio_events_is_imported_once(self, function_dir: Path, first_touch: str) -> None:
        # GIVEN the handler imported (asyncio is a stand-in), WHEN the first use of asyncio names a submodule
        report = _run(
            function_dir,
            first_touch
            + textwrap.dedent("""
            import asyncio, json
            events = sys.modules["asyncio.events"]
            loop = asyncio.new_event_loop()
            print(json.dumps({
                "one_module": events.get_event_loop_policy is asyncio.get_event_loop_policy,
                "isinstance": isinstance(loop, events.AbstractEventLoop),
            }))
            """),
        )
        # THEN there is one asyncio.events, as without the handler (not a second copy with its own classes)
        assert report == {"one_module": True, "isinstance": True}

    def test_a_cancelled_error_from_pickle_is_caught_by_except_asyncio_cancelled_error(
        self, function_dir: Path
    ) -> None:
        # GIVEN the handler imported, WHEN a CancelledError pickled elsewhere is unpickled first
        report = _run(
            function_dir,
            """
            import pickle, json
            # pickle.dumps(asyncio.CancelledError()) made by another process
            blob = bytes.fromhex("8004952c000000000000008c126173796e63696f2e657863657074696f6e73948c0e43616e63656c"
                                 "6c65644572726f729493942952942e")
            error = pickle.loads(blob)
            import asyncio
            try:
                raise error
            except asyncio.CancelledError:
                caught = True
            except BaseException:
                caught = False
            print(json.dumps({"caught": caught}))
            """,
        )
        # THEN it is asyncio's CancelledError
        assert report == {"caught": True}

    def test_a_first_read_racing_a_submodule_import_does_not_hang(self, function_dir: Path) -> None:
        # GIVEN the handler imported, and a thread switch right after a first read of asyncio took the
        # stand-in's lock (the GIL may switch at any bytecode; the trace only makes it happen every time)
        report = _run(
            function_dir,
            """
            import json, threading, time
            from dcs_backup.platform import deferred
            import asyncio  # the stand-in, as structlog holds it
            LINE = next(i for i, l in enumerate(open(deferred.__file__), 1)
                        if "sys.modules.get(self.__name__) is self" in l)

            def switch_here(frame, event, arg):
                if event == "line" and frame.f_code.co_filename == deferred.__file__ and frame.f_lineno == LINE:
                    time.sleep(0.3)
                return switch_here

            def first_read():
                sys.settrace(switch_here)
                asyncio.get_event_loop_policy()

            def submodule_import():
                time.sleep(0.1)
                import asyncio.events

            threads = [threading.Thread(target=t, daemon=True) for t in (first_read, submodule_import)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(10)
            print(json.dumps({"hung": [t.is_alive() for t in threads]}))
            """,
        )
        # THEN both finish (no deadlock between the stand-in's lock and the import lock of asyncio.events)
        assert report == {"hung": [False, False]}


class TestTheHostProcessLogging:
    def test_log_records_in_an_asyncio_task_still_name_their_task(self, function_dir: Path) -> None:
        # The FunctionGraph runtime shares the process; on 3.12 its records carry taskName inside asyncio tasks.
        code = """
            import asyncio, io, json, logging
            out = io.StringIO()
            h = logging.StreamHandler(out)
            h.setFormatter(logging.Formatter("%(taskName)s"))
            log = logging.getLogger("runtime")
            log.addHandler(h)
            log.setLevel(logging.INFO)

            async def serve():
                log.info("invoking")

            asyncio.run(serve())
            print(json.dumps({"task": out.getvalue().strip()}))
            """
        without = _run(function_dir, code, handler=False)
        with_handler = _run(function_dir, code)
        assert without == {"task": "Task-1"}
        # THEN importing the handler does not change the host's log records (taskName is not "None" forever)
        assert with_handler == without
