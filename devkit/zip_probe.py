"""Run a handler the way FunctionGraph runs the zip: a fresh CPython 3.12 with only the package on its path.

The package test, its regression guard on loaded SDK modules, and the benchmarks all use it.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devkit.seed import ACCESS_KEY, SECRET_KEY

# argv: package dir, handler file, handler function, event file, access key, secret key, warm runs.
# The handler file is loaded by path, so a baseline outside the package needs no extra path entry.
PROBE = """
import json, sys, time, uuid
started = time.perf_counter()
sys.path.insert(0, sys.argv[1])
import importlib.util
spec = importlib.util.spec_from_file_location("handler", sys.argv[2])
module = importlib.util.module_from_spec(spec)
sys.modules["handler"] = module
spec.loader.exec_module(module)
handler = getattr(module, sys.argv[3])
imported = time.perf_counter()

class Context:
    def __init__(self): self.request_id = str(uuid.uuid4())
    def getRequestID(self): return self.request_id
    def getRemainingTimeInMilliSeconds(self): return 600000
    def getSecurityAccessKey(self): return sys.argv[5]
    def getSecuritySecretKey(self): return sys.argv[6]
    def getSecurityToken(self): return ""
    def getProjectID(self): return ""

event = json.load(open(sys.argv[4]))
result = handler(event, Context())
invoked = time.perf_counter()
warm, warm_cpu = [], []
for _ in range(int(sys.argv[7])):
    before, cpu_before = time.perf_counter(), time.process_time()
    handler(event, Context())
    warm.append(time.perf_counter() - before)
    warm_cpu.append(time.process_time() - cpu_before)
import gc, resource
sdk = sys.modules.get("huaweicloudsdkdcs.v2.dcs_client")
print(json.dumps({
    "result": result,
    "sdk_file": sdk and sdk.__file__,
    "sdk_cached": sdk and sdk.__cached__,
    "modules": len(sys.modules),
    "model_modules": sorted(m for m in sys.modules if m.startswith("huaweicloudsdkdcs.v2.model.")),
    "stand_ins": sorted(
        n for n, m in list(sys.modules.items()) if type(m).__name__ == "DeferredModule" and not m.is_loaded
    ),
    "gc_enabled": gc.isenabled(),
    "gc_frozen": gc.get_freeze_count(),
    "import_s": imported - started,
    "invoke_s": invoked - imported,
    "warm_s": warm,
    "warm_cpu_s": warm_cpu,
    "max_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
}))
"""


@dataclass(frozen=True)
class ProbeRun:
    """What one probe process reported, and its wall time from spawn to exit."""

    report: dict[str, Any]
    process_s: float


@functools.cache
def python312() -> str:
    """CPython 3.12, the function's runtime, as `make package` finds it: pyenv's, else the one on PATH."""
    found = subprocess.run(["pyenv", "prefix", "3.12"], capture_output=True, text=True, check=False)
    candidate = Path(found.stdout.strip()) / "bin" / "python3.12" if found.returncode == 0 else None
    path = str(candidate) if candidate and candidate.exists() else shutil.which("python3.12")
    if not path:
        raise RuntimeError("a CPython 3.12 interpreter is needed (pyenv install 3.12, or python3.12 on PATH)")
    return path


def probe(
    package_dir: Path,
    event_file: Path,
    env: Mapping[str, str],
    *,
    handler: tuple[Path, str] | None = None,
    warm_runs: int = 0,
) -> ProbeRun:
    """Import ``handler`` (default: the package's ``handler.handler``), invoke it once, then ``warm_runs`` more.

    Raises RuntimeError, with the child's stderr, when the process fails.
    """
    handler_file, function = handler or (package_dir / "handler.py", "handler")
    argv = [python312(), "-I", "-S", "-c", PROBE, str(package_dir), str(handler_file), function, str(event_file)]
    started = time.perf_counter()
    done = subprocess.run(
        [*argv, ACCESS_KEY, SECRET_KEY, str(warm_runs)],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode:
        raise RuntimeError(f"the probe of {handler_file} exited with {done.returncode}:\n{done.stderr}")
    return ProbeRun(json.loads(done.stdout), elapsed)
