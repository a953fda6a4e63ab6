"""The local runner's --env-file: dotenv lines, read as written."""

from __future__ import annotations

from pathlib import Path

import pytest

from devkit.env_file import EnvFileError, read_env_file


def _read(tmp_path: Path, text: str) -> dict[str, str]:
    path = tmp_path / "local.env"
    path.write_text(text, encoding="utf-8")
    return read_env_file(path)


def test_quotes_comments_and_export_are_read_as_dotenv_does(tmp_path: Path) -> None:
    text = "# comment\n\nexport A=1\nB = 'two words'\nC=\"#not a comment\"\nD=plain # a comment\nA=last\n"
    assert _read(tmp_path, text) == {"A": "last", "B": "two words", "C": "#not a comment", "D": "plain"}


@pytest.mark.parametrize("line", ["no equals sign", "1ABC=starts with a digit", "=no key"])
def test_a_line_that_is_not_key_value_is_refused_by_its_number(tmp_path: Path, line: str) -> None:
    with pytest.raises(EnvFileError, match="line 2 is not KEY=VALUE") as caught:
        _read(tmp_path, f"A=1\n{line}\n")
    assert line not in str(caught.value)
