"""The lazily loaded SDK model packages give exactly the classes the SDK's own eager import gives."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

from dcs_backup.dcs.sdk_models import LAZY_PACKAGES, exports

REPO = Path(__file__).resolve().parents[3]


def _fresh(code: str) -> Any:
    """What ``code`` prints as JSON in a new interpreter, where nothing has imported the SDK yet."""
    prelude = "import json, sys\nfrom dcs_backup.dcs import sdk_models\nsdk_models.install()\n"
    run = subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


class TestResolution:
    def test_every_exported_name_is_the_class_the_eager_import_gives(self) -> None:
        # GIVEN the lazy packages, resolved first, then each package's real __init__ executed beside them
        mismatches = _fresh(
            """
            import importlib, importlib.util
            wrong = []
            for package in sdk_models.LAZY_PACKAGES:
                lazy = {name: getattr(sys.modules[package], name) for name in sdk_models.exports(package)}
                spec = importlib.util.find_spec(package)
                eager = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(eager)
                classes = {name for name, value in vars(eager).items() if isinstance(value, type)}
                wrong += [f"{package}.{n}" for n in classes ^ lazy.keys()]
                wrong += [f"{package}.{n}" for n in classes & lazy.keys() if getattr(eager, n) is not lazy[n]]
            print(json.dumps(wrong))
            """
        )
        # THEN every name gives the very same class object, and no name is missing or extra
        assert mismatches == []

    def test_both_packages_export_what_the_pinned_sdk_has(self) -> None:
        # GIVEN the pinned SDK, WHEN its exports are read, THEN the client and all model classes are there
        counts = {package: len(exports(package)) for package in LAZY_PACKAGES}
        assert counts == {"huaweicloudsdkdcs.v2": 418, "huaweicloudsdkdcs.v2.model": 416}

    def test_class_names_that_break_the_snake_case_rule_resolve(self) -> None:
        # WHEN the two classes whose module is not the snake_case of their name are looked up
        modules = _fresh(
            """
            from huaweicloudsdkdcs.v2.model import MigrateAZRequestBody, UpdateSSLSwitchRequestBody
            print(json.dumps([MigrateAZRequestBody.__module__, UpdateSSLSwitchRequestBody.__module__]))
            """
        )
        # THEN each comes from the module the SDK's __init__ names
        assert modules == [
            "huaweicloudsdkdcs.v2.model.migrate_az_request_body",
            "huaweicloudsdkdcs.v2.model.update_ssl_switch_request_body",
        ]

    def test_a_name_the_sdk_does_not_export_raises_attribute_error(self) -> None:
        # WHEN a name that only a guess from the module name would produce is looked up
        outcome = _fresh(
            """
            import huaweicloudsdkdcs.v2.model as models
            print(json.dumps(hasattr(models, "MigrateAzRequestBody")))
            """
        )
        # THEN it is not found, rather than resolved to some class
        assert outcome is False

    def test_looking_up_one_model_loads_only_its_module(self) -> None:
        # WHEN the client's module and one response type are loaded
        loaded = _fresh(
            """
            from huaweicloudsdkdcs.v2.dcs_client import DcsClient
            from huaweicloudsdkdcs.v2.model import ShowInstanceResponse
            print(json.dumps(sorted(m for m in sys.modules if m.startswith("huaweicloudsdkdcs.v2.model."))))
            """
        )
        # THEN that response type's module is the only model module in memory
        assert loaded == ["huaweicloudsdkdcs.v2.model.show_instance_response"]
