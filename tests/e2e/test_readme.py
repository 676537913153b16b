"""Every ``$ marginlab ...`` command in the README's console blocks prints what the README shows.

A console block is a fenced block opened with three backticks and ``console``. Each line starting with
``$ marginlab`` is a command (a trailing backslash continues it on the next line); the lines after it, up
to the next command or the end of the block, are its output. Comparison normalises whitespace (runs of
spaces, trailing spaces, blank lines). An HTML comment on the line just before the fence changes the
check for the block:

* ``<!-- console: excerpt -->`` — the shown lines appear in the output, in order (the output is longer);
* ``<!-- console: illustrative -->`` — the block is not run (a reason may follow the word).

Commands run in-process at the README's width (:data:`WIDTH` columns), from the repository root.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from marginlab.cli import cli

ROOT = Path(__file__).parents[2]
README = ROOT / "README.md"
WIDTH = 100
FENCE = re.compile(r"(?:<!-- console: (?P<kind>\w+)[^>]*-->\n)?```console\n(?P<body>.*?)```", re.S)


@dataclass(frozen=True)
class Example:
    command: str
    shown: tuple[str, ...]
    kind: str
    line: int


def examples() -> list[Example]:
    text = README.read_text(encoding="utf-8")
    out: list[Example] = []
    for block in FENCE.finditer(text):
        kind = block["kind"] or "exact"
        line = text[: block.start("body")].count("\n") + 1
        lines = block["body"].splitlines()
        i = 0
        while i < len(lines):
            if not lines[i].startswith("$ marginlab"):
                i += 1
                continue
            command = lines[i][2:]
            while command.endswith("\\"):
                i += 1
                command = command[:-1] + " " + lines[i].strip()
            i += 1
            shown: list[str] = []
            while i < len(lines) and not lines[i].startswith("$ "):
                shown.append(lines[i])
                i += 1
            out.append(Example(command, tuple(shown), kind, line))
    return out


def normalise(lines: list[str] | tuple[str, ...]) -> list[str]:
    return [" ".join(line.split()) for line in lines if line.strip()]


def test_the_readme_has_console_examples_of_every_kind() -> None:
    found = examples()
    assert len(found) >= 6
    assert {e.kind for e in found} >= {"exact", "excerpt"}
    assert all(e.shown for e in found if e.kind != "illustrative")  # every run command shows its output


@pytest.mark.parametrize(
    "example", [e for e in examples() if e.kind != "illustrative"], ids=lambda e: e.command
)
def test_readme_command_prints_what_the_readme_shows(example: Example, tmp_path: Path) -> None:
    args = shlex.split(example.command)[1:]
    if "--report" in args:  # write reports to a scratch folder, not the repository
        k = args.index("--report") + 1
        args[k] = str(tmp_path / Path(args[k]).name)
    cwd = os.getcwd()
    os.chdir(ROOT)
    try:
        env = {"COLUMNS": str(WIDTH)}
        result = CliRunner().invoke(cli, args, env=env)
    finally:
        os.chdir(cwd)
    # a first run after an install without `make install` announces that it compiles: not part of the output
    actual = normalise([x for x in result.output.splitlines() if not x.startswith("compiling the fast core")])
    shown = normalise(example.shown)
    where = f"README.md line {example.line}: {example.command}"
    assert result.exit_code == 0, f"{where}\n{result.output}"
    if example.kind == "exact":
        assert actual == shown, f"{where}\n--- printed ---\n" + "\n".join(actual)
        return
    position = 0
    for line in shown:
        assert line in actual[position:], f"{where}: not printed (in order): {line!r}\n" + "\n".join(actual)
        position = actual.index(line, position) + 1
