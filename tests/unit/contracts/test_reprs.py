"""Types that carry credentials or a signed link never show them in their text form."""

from __future__ import annotations

import pytest

from dcs_backup.dcs.access import DcsAccess
from dcs_backup.dcs.models import BackupFile
from dcs_backup.export.obs import ObsAccess

ACCESS_KEY = "AKEXAMPLEACCESS0001"
SECRET_KEY = "SKEXAMPLESECRET0002"
TOKEN = "TOKENEXAMPLE0003"
SIGNATURE = "Signature=SIGNEDEXAMPLE0004"
VALUES = [
    DcsAccess(ACCESS_KEY, SECRET_KEY, TOKEN, "0" * 32, "https://dcs.example.com"),
    ObsAccess("https://obs.example.com", ACCESS_KEY, SECRET_KEY, TOKEN),
    BackupFile("shard-1.rdb", f"https://obs.example.com/b/shard-1.rdb?AccessKeyId={ACCESS_KEY}&{SIGNATURE}"),
]


@pytest.mark.parametrize("value", VALUES, ids=lambda v: type(v).__name__)
def test_text_forms_hold_no_secret(value: object) -> None:
    for text in (repr(value), str(value), f"{value}", repr([value])):
        for secret in (ACCESS_KEY, SECRET_KEY, TOKEN, SIGNATURE):
            assert secret not in text
