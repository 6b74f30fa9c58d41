"""README.md cannot drift from the code: every command it shows parses, every key and preset it names exists.

What this test guarantees, line by line of README.md:

- **Commands.** Every ``origan ...`` command in a shell code block (```` ```sh ```` or a bare fence), also
  when spelled ``.venv/bin/origan``, ``python -m origan`` or ``torchrun ... -m origan``, is accepted by the
  real parser (``origan.cli.build_parser``) with its numeric options inside ``origan.limits.BOUNDS``. Shell
  details are read as a shell would: ``# comments``, backslash continuations, quotes, ``&&``/``|``/``;``
  and ``NAME=value`` prefixes. ``--help`` and ``--version`` exit 0, which is fine.
- **Inline commands.** A backticked ``origan ...`` in the prose may be a fragment (``origan sample RUN
  --per-class 10`` leaves out ``--out``), so it may omit required arguments, and a positional spelled as its
  own metavar (``origan theory NAME``) stands for any of its choices; everything else it says must parse.
- **Config keys.** Every ``--set KEY=VALUE`` of those commands, every backticked dotted key whose first part is
  a section of :class:`origan.config.Config` (``train.k``, ``data.path``, ``generator.hidden``...), the keys of
  a ``| key | what |`` table under a backticked ``[section]``, and dotted keys quoted in Python blocks exist in
  the schema (keys under a free-form table such as ``data.params.radius`` are accepted). A mention that also
  gives a value (``train.update = "simultaneous"``, ``noise.prior=normal``) must resolve on the defaults,
  unless the value is a placeholder (``N``, ``FOLDER``, ``TABLE.csv``).
- **Resolved configs.** Every ``origan train`` with ``--preset`` or ``--set`` resolves:
  ``load_config(preset, None, sets)`` succeeds. ``load_config`` reads no file but the ``--config`` TOML file
  (which is left out: ``my.toml`` is the reader's own), so placeholder paths (``data.path=photos/``) are
  checked for their type only; the test makes any file access during resolution fail, so it keeps that
  promise honest.
- **Presets and subcommands.** Every preset named (``--preset NAME``, ``load_config("NAME")``,
  ``preset="NAME"``, the first column of a table whose header starts with ``preset``) is in ``PRESETS``;
  the Presets table lists every preset; every subcommand shown exists and every subcommand is shown.

A failure names the README line. The checker functions are plain functions of a README text, and the last
tests feed them a scratch README with known mistakes to show that they catch them.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import dataclasses
import functools
import io
import os
import re
import shlex
import tomllib
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from origan.cli import build_parser
from origan.cli._common import check_bounds
from origan.config import PRESETS, Config, load_config, parse_set
from origan.errors import UserError

README = Path(__file__).resolve().parent.parent / "README.md"

SHELL_LANGS = frozenset({"", "sh", "bash", "shell", "console", "zsh"})
OPERATORS = frozenset({"|", "||", "&&", ";", "&", "|&"})
REDIRECTS = frozenset({">", ">>", "<", ">&", "&>", ">|", "<<"})
HELP_FLAGS = frozenset({"-h", "--help", "--version"})
# a placeholder value or argument: N, S, FOLDER, RUN, TABLE.csv, FILE.safetensors
PLACEHOLDER = re.compile(r"[A-Z][A-Z0-9_]*(\.\w+)?/?")
# dotted names in backticks that start like a config key but name something else, and what they name
NOT_CONFIG_KEYS = {
    "data.classes": "a field of a checkpoint manifest (Reliability: run files are input)",
    "data.class_counts": "a field of a checkpoint manifest (Reliability: run files are input)",
}
# a line (or part of one, after && | ;) that runs origan; prose in a bare fence (the layout tree) does not match
INVOCATION = re.compile(
    r"(?:^|&&|\|\|?|;)\s*(?:[A-Za-z_]\w*=\S*\s+)*"
    r"(?:(?:\S*/bin/)?origan|python3?\s+-m\s+origan|torchrun\s.*?-m\s+origan)(?=\s|$)"
)


# ---------------------------------------------------------------------------------------------------------
# Reading README.md


@dataclass(frozen=True)
class Doc:
    """A README: its lines, its fenced blocks and its inline code spans (each with 1-based line numbers)."""

    lines: tuple[str, ...]
    blocks: tuple[tuple[str, tuple[tuple[int, str], ...]], ...]  # (language, ((line, text), ...))
    spans: tuple[tuple[int, str], ...]  # (line, content with line breaks made spaces), outside fenced blocks


@dataclass(frozen=True)
class Command:
    line: int  # where the command starts
    text: str  # as written, continuations joined
    argv: tuple[str, ...]  # the arguments after `origan`
    fragment: bool  # an inline span: may leave out required arguments

    @property
    def subcommand(self) -> str | None:
        return next((a for a in self.argv if not a.startswith("-")), None)


@dataclass(frozen=True)
class KeyMention:
    line: int
    key: str  # dotted (train.k) or a section in brackets ([train])
    value: str | None = None  # the value the mention gives, as written
    style: str = ""  # "set" (KEY=VALUE, a --set value), "toml" (KEY = VALUE) or "" (no value to check)


def parse_doc(text: str) -> Doc:
    lines = text.splitlines()
    blocks: list[tuple[str, tuple[tuple[int, str], ...]]] = []
    prose = list(lines)  # fenced lines blanked, so that code spans are found in the prose alone
    fence: str | None = None
    lang, body = "", []
    for i, line in enumerate(lines):
        m = re.match(r" {0,3}(`{3,}|~{3,})\s*([\w+-]*)", line)
        if fence is None and m:
            fence, lang, body = m.group(1), m.group(2).lower(), []
            prose[i] = ""
        elif fence is not None:
            prose[i] = ""
            if line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
                blocks.append((lang, tuple(body)))
                fence = None
            else:
                body.append((i + 1, line))
    return Doc(tuple(lines), tuple(blocks), tuple(_code_spans("\n".join(prose))))


def _code_spans(text: str) -> Iterator[tuple[int, str]]:
    """CommonMark code spans: a run of n backticks up to the next run of exactly n, within one paragraph."""
    pos = 0
    while (m := re.compile(r"`+").search(text, pos)) is not None:
        n = len(m.group())
        close = re.compile(rf"(?<!`)`{{{n}}}(?!`)").search(text, m.end())
        inside = text[m.end() : close.start()] if close else ""
        if close is None or re.search(r"\n[ \t]*\n", inside):
            pos = m.end()  # an unmatched run is literal text
            continue
        yield text.count("\n", 0, m.start()) + 1, re.sub(r"\s*\n\s*", " ", inside).strip()
        pos = close.end()


def read_readme(path: Path) -> Doc:
    return parse_doc(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------------------
# Commands


def split_shell(text: str) -> list[list[str]]:
    """The simple commands of one shell line: quotes, comments, && | ; and redirections as a shell reads them."""
    lex = shlex.shlex(text, posix=True, punctuation_chars=True)
    lex.whitespace_split = True
    commands: list[list[str]] = [[]]
    tokens = iter(lex)
    for token in tokens:
        if token in OPERATORS:
            commands.append([])
        elif token in REDIRECTS:
            next(tokens, None)  # and its target
        else:
            commands[-1].append(token)
    return [c for c in commands if c]


def origan_argv(words: list[str]) -> list[str] | None:
    """The arguments after ``origan`` when the command runs origan (any spelling), else None."""
    while words and re.match(r"[A-Za-z_]\w*=", words[0]):  # OMP_NUM_THREADS=1 origan ...
        words = words[1:]
    if not words:
        return None
    program = words[0].rsplit("/", 1)[-1]
    if words[0] == "origan" or words[0].endswith("/bin/origan"):  # not ~/.cache/origan
        return words[1:]
    if re.fullmatch(r"python3?(\.\d+)?|torchrun", program):
        for i in range(1, len(words) - 1):
            if words[i] == "-m":
                return words[i + 2 :] if words[i + 1] == "origan" else None
    return None


def _commands_in(line: int, text: str, fragment: bool) -> list[Command]:
    if not INVOCATION.search(text):
        return []
    try:
        simple = split_shell(text)
    except ValueError as e:  # no closing quotation
        raise AssertionError(f"README line {line}: cannot read `{text}` as a shell command: {e}") from None
    found = [origan_argv(words) for words in simple]
    return [Command(line, text.strip(), tuple(argv), fragment) for argv in found if argv is not None]


def shell_commands(doc: Doc) -> list[Command]:
    """Every origan command in the shell code blocks (a backslash continues a line)."""
    commands: list[Command] = []
    for lang, body in doc.blocks:
        if lang not in SHELL_LANGS:
            continue
        start, logical = 0, ""
        for number, line in body:
            start = start or number
            if line.rstrip().endswith("\\"):
                logical += line.rstrip()[:-1] + " "
                continue
            commands += _commands_in(start, logical + line, fragment=False)
            start, logical = 0, ""
        if logical:
            commands += _commands_in(start, logical, fragment=False)
    return commands


def inline_commands(doc: Doc) -> list[Command]:
    """Every backticked ``origan ...`` in the prose (``origan eval``, ``origan sample RUN --out x.csv``)."""
    return [c for line, span in doc.spans for c in _commands_in(line, span, fragment=True)]


@functools.cache
def _parser(fragment: bool) -> argparse.ArgumentParser:
    parser = build_parser()
    if fragment:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        for p in sub.choices.values():
            for action in p._actions:
                action.required = False  # a fragment may leave out --out and RUN
                if not action.option_strings and action.choices is not None and action.metavar:
                    action.choices = [*action.choices, action.metavar]  # `origan theory NAME`
    return parser


def parse(cmd: Command) -> argparse.Namespace | str:
    """The parsed arguments, or why the parser refused them (its one error line)."""
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            return _parser(cmd.fragment).parse_args(list(cmd.argv))
    except SystemExit as e:
        if e.code in (0, None) and HELP_FLAGS & set(cmd.argv):
            return argparse.Namespace(help=True)
        return f"exit {e.code}: {out.getvalue().strip() or '(no message)'}"


def command_problem(cmd: Command) -> str | None:
    """Why the parser refuses a README command (or its numeric options' bounds do), or None."""
    args = parse(cmd)
    if isinstance(args, str):
        return f"README line {cmd.line}: `{cmd.text}` is refused: {args}"
    if getattr(args, "help", False):
        return None
    try:
        check_bounds(args)
    except UserError as e:
        return f"README line {cmd.line}: `{cmd.text}` is refused: {e}"
    return None


def resolve_problem(cmd: Command) -> str | None:
    """Why ``load_config(preset, None, sets)`` refuses a README ``origan train`` command, or None.

    ``--config FILE`` is left out (the README's ``my.toml`` is the reader's file). A ``--resume`` without a
    preset resolves its ``--set`` values on the defaults: the run's own config is not here, so that checks
    their types and ranges."""
    args = parse(cmd)
    if isinstance(args, str) or getattr(args, "command", None) != "train" or not (args.preset or args.set):
        return None
    try:
        load_config(args.preset, None, args.set or ())
    except UserError as e:
        return f"README line {cmd.line}: `{cmd.text}` does not resolve: {e}"
    return None


# ---------------------------------------------------------------------------------------------------------
# Config keys


@functools.cache
def schema() -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(sections, every dotted key, the keys that are free-form tables) of :class:`Config`."""
    sections: set[str] = set()
    keys: set[str] = set()
    tables: set[str] = set()

    def walk(cls: type, prefix: str) -> None:
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            tp, key = hints[f.name], prefix + f.name
            if dataclasses.is_dataclass(tp):
                if not prefix:
                    sections.add(f.name)
                walk(tp, key + ".")
            else:
                keys.add(key)
                if typing.get_origin(tp) is dict:
                    tables.add(key)

    walk(Config, "")
    return frozenset(sections), frozenset(keys), frozenset(tables)


def _key_pattern() -> re.Pattern[str]:
    sections = "|".join(sorted(schema()[0]))
    return re.compile(rf"(?<![\w.-])(?:{sections})(?:\.[A-Za-z_]\w*)+")


def _mention(line: int, text: str) -> KeyMention | None:
    """A mention that is all key (``train.k``), key = value (TOML) or key=value (--set), else None."""
    m = re.fullmatch(r"(?:--set\s+)?([\w.]+)(?:(\s*)=(\s*)(.+))?", text.strip())
    if m is None or not _key_pattern().fullmatch(m.group(1)):
        return None
    if m.group(4) is None:
        return KeyMention(line, m.group(1))
    return KeyMention(line, m.group(1), m.group(4), "toml" if m.group(2) or m.group(3) else "set")


def config_keys(doc: Doc, commands: list[Command]) -> list[KeyMention]:
    """Every config key the README names, once per line (a mention that gives a value wins)."""
    mentions: list[KeyMention] = []
    for cmd in commands:  # --set KEY=VALUE
        args = iter(cmd.argv)
        for arg in args:
            assignment = next(args, "") if arg == "--set" else arg.removeprefix("--set=")
            if arg == "--set" or arg.startswith("--set="):
                key, _, value = assignment.partition("=")
                mentions.append(KeyMention(cmd.line, key.strip(), value, "set"))
    pattern = _key_pattern()
    for line, span in doc.spans:  # `train.k`, `data.name = "folder"`, `origan: error: train.tensorboard=on: ...`
        whole = _mention(line, span)
        mentions += [whole] if whole else [KeyMention(line, m.group()) for m in pattern.finditer(span)]
        if re.fullmatch(r"\[\w+\]", span):  # `[train]`: a TOML section
            mentions.append(KeyMention(line, span))
    mentions += _table_keys(doc)
    for lang, body in doc.blocks:  # origan.load_config("ring8", overrides=["train.steps=2000"])
        if lang == "python":
            for number, text in body:
                for quoted in re.findall(r"[\"']([\w.]+(?:=[^\"']*)?)[\"']", text):
                    if (m := _mention(number, quoted)) is not None:
                        mentions.append(m)
    best: dict[tuple[int, str], KeyMention] = {}
    for m in mentions:
        if (m.line, m.key) not in best or (m.value is not None and best[m.line, m.key].value is None):
            best[m.line, m.key] = m
    return list(best.values())


def _table_keys(doc: Doc) -> Iterator[KeyMention]:
    """The first column of a ``| key | what |`` table, keys of the section last named as `[section]`."""
    section, in_table = None, False
    fenced = {number for _, body in doc.blocks for number, _ in body}
    for number, line in enumerate(doc.lines, start=1):
        if number in fenced:
            continue
        if (m := re.findall(r"`\[(\w+)\]`", line)) and not line.lstrip().startswith("|"):
            section = m[-1]
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else []
        if not cells:
            in_table = False
        elif cells[0] == "key":
            in_table = True
        elif in_table and section and (m := re.fullmatch(r"`(\w+)(?:\s*=\s*(.+))?`", cells[0])):
            yield KeyMention(number, f"{section}.{m.group(1)}", m.group(2), "toml" if m.group(2) else "")


def key_problem(mention: KeyMention) -> str | None:
    """Why a key the README names is not in the schema, or why its value does not resolve, or None."""
    sections, keys, tables = schema()
    where = f"README line {mention.line}: `{mention.key}`"
    if mention.key in NOT_CONFIG_KEYS:
        return None
    if mention.key.startswith("["):
        return None if mention.key[1:-1] in sections else f"{where} is not a config section"
    try:
        key, _ = parse_set(f"{mention.key}=0")
    except UserError as e:
        return f"{where}: {e}"
    parents = {key.rsplit(".", n)[0] for n in range(1, key.count(".") + 1)}
    if key not in keys and not parents & tables:
        return f"{where} is not a config key (sections: {', '.join(sorted(sections))})"
    value = (mention.value or "").strip()
    if not mention.style or not value or PLACEHOLDER.fullmatch(value):
        return None
    if mention.style == "toml":
        try:
            tomllib.loads(f"v = {value}")
            candidates = [value]
        except tomllib.TOMLDecodeError:  # `generator.name = affine | spline | coupling`: names to choose from
            candidates = [v.strip() for v in value.split("|")] if "|" in value else []
    else:
        candidates = [value]
    for candidate in candidates:
        try:
            load_config(None, None, [f"{key}={candidate}"])
        except UserError as e:
            return f"{where} = {candidate} does not resolve on the defaults: {e}"
    return None


# ---------------------------------------------------------------------------------------------------------
# Presets and subcommands


def preset_mentions(doc: Doc, commands: list[Command]) -> list[tuple[int, str]]:
    """(line, name) of every preset the README names."""
    found: list[tuple[int, str]] = []
    for cmd in commands:
        args = iter(cmd.argv)
        for arg in args:
            if arg == "--preset":
                found.append((cmd.line, next(args, "")))
            elif arg.startswith("--preset="):
                found.append((cmd.line, arg.removeprefix("--preset=")))
    fenced = {number for _, body in doc.blocks for number, _ in body}
    preset_table = False
    for number, line in enumerate(doc.lines, start=1):
        if number in fenced:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.lstrip().startswith("|") else []
        if not cells:
            preset_table = False
        elif cells[0].startswith("preset"):
            preset_table = True
        elif preset_table and (m := re.match(r"`([\w-]+)`", cells[0])):
            found.append((number, m.group(1)))
    for lang, body in doc.blocks:
        if lang == "python":
            for number, text in body:
                for name in re.findall(r"load_config\(\s*[\"']([\w-]+)[\"']|preset=[\"']([\w-]+)[\"']", text):
                    found.append((number, "".join(name)))
    return found


def presets_table(doc: Doc) -> set[str]:
    """The presets listed in the table under ``## Presets``."""
    names: set[str] = set()
    section = ""
    for line in doc.lines:
        if line.startswith("## "):
            section = line[3:].strip()
        elif section == "Presets" and (m := re.match(r"\|\s*`([\w-]+)`\s*\|", line)):
            names.add(m.group(1))
    return names


def subcommands() -> set[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return set(sub.choices)


# ---------------------------------------------------------------------------------------------------------
# The README as it is

DOC = read_readme(README)
SHELL_COMMANDS = shell_commands(DOC)
INLINE_COMMANDS = inline_commands(DOC)
KEYS = config_keys(DOC, SHELL_COMMANDS + INLINE_COMMANDS)
PRESET_MENTIONS = preset_mentions(DOC, SHELL_COMMANDS + INLINE_COMMANDS)


def _ids(items: list[Any], name: Any) -> list[str]:
    ids: list[str] = []
    for item in items:
        base = f"L{item.line}-{name(item)}"
        ids.append(base if base not in ids else f"{base}#{sum(i.startswith(base) for i in ids) + 1}")
    return ids


def test_readme_is_parsed() -> None:
    """At least 40 command lines and 40 distinct config keys: an empty parse cannot pass."""
    dotted = {m.key for m in KEYS if not m.key.startswith("[") and m.key not in NOT_CONFIG_KEYS}
    assert len(SHELL_COMMANDS) >= 40, [c.text for c in SHELL_COMMANDS]
    assert len(dotted) >= 40, sorted(dotted)
    assert len(INLINE_COMMANDS) >= 10, [c.text for c in INLINE_COMMANDS]
    assert len({name for _, name in PRESET_MENTIONS}) >= 10


@pytest.mark.parametrize(
    "cmd",
    SHELL_COMMANDS + INLINE_COMMANDS,
    ids=_ids(SHELL_COMMANDS + INLINE_COMMANDS, lambda c: c.subcommand or "origan"),
)
def test_command_parses(cmd: Command) -> None:
    assert command_problem(cmd) is None, command_problem(cmd)


@contextlib.contextmanager
def _no_filesystem(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Any file access fails the test: resolving a config must not look at data.path (photos/ is not here)."""

    def refusing(original: Callable[..., Any]) -> Callable[..., Any]:
        def refuse(*args: Any, **kwargs: Any) -> Any:
            # argparse's messages go through gettext, which looks for translations (.mo files) when the
            # environment names a language: that lookup is not the config's
            if args and str(args[0]).endswith(".mo"):
                return original(*args, **kwargs)
            raise AssertionError(f"load_config touched the filesystem: {args[:1]}")

        return refuse

    with monkeypatch.context() as m:
        for module, name in [(os, "stat"), (os, "lstat"), (os, "open"), (os, "scandir"), (os, "listdir")]:
            m.setattr(module, name, refusing(getattr(module, name)))
        m.setattr(builtins, "open", refusing(builtins.open))
        m.setattr(io, "open", refusing(io.open))
        yield


TRAIN_COMMANDS = [c for c in SHELL_COMMANDS + INLINE_COMMANDS if c.subcommand == "train"]


@pytest.mark.parametrize("cmd", TRAIN_COMMANDS, ids=_ids(TRAIN_COMMANDS, lambda c: "train"))
def test_train_command_resolves(cmd: Command, monkeypatch: pytest.MonkeyPatch) -> None:
    with _no_filesystem(monkeypatch):
        problem = resolve_problem(cmd)
    assert problem is None, problem


@pytest.mark.parametrize("mention", KEYS, ids=_ids(KEYS, lambda m: m.key))
def test_config_key_exists(mention: KeyMention) -> None:
    assert key_problem(mention) is None, key_problem(mention)


@pytest.mark.parametrize("line,name", PRESET_MENTIONS, ids=[f"L{line}-{name}" for line, name in PRESET_MENTIONS])
def test_preset_exists(line: int, name: str) -> None:
    assert name in PRESETS, f"README line {line}: preset {name!r} is not in PRESETS ({', '.join(PRESETS)})"


def test_not_config_keys_are_not_config_keys() -> None:
    """The names let through as something else are still named by the README and still not config keys."""
    named = {m.key for m in KEYS}
    assert set(NOT_CONFIG_KEYS) <= named, f"no longer in the README: {set(NOT_CONFIG_KEYS) - named}"
    assert not set(NOT_CONFIG_KEYS) & schema()[1], "now config keys: drop them from NOT_CONFIG_KEYS"


def test_presets_table_lists_every_preset() -> None:
    listed = presets_table(DOC)
    assert listed == set(PRESETS), f"missing from the table: {set(PRESETS) - listed}; unknown: {listed - set(PRESETS)}"


def test_subcommands_shown_exist_and_every_subcommand_is_shown() -> None:
    known = subcommands()
    shown = {c.subcommand: c.line for c in SHELL_COMMANDS + INLINE_COMMANDS if c.subcommand}
    unknown = {name: line for name, line in shown.items() if name not in known}
    assert not unknown, f"README shows subcommands the parser does not have (name: line): {unknown}"
    assert known <= set(shown), f"subcommands the README never shows: {sorted(known - set(shown))}"


# ---------------------------------------------------------------------------------------------------------
# The checker catches what it is meant to catch

SCRATCH = """\
# scratch

```sh
origan sample RUN --nn 3 --out x.npy
origan train --preset ring8 --set train.kk=2 --out runs/x   # a comment
origan train --preset ring9
OMP_NUM_THREADS=1 origan sample runs/x -n 10 --out 'a b.csv' | head -3
origan train --preset csv --set data.drop_columns='["id"]' \\
    --set data.path=TABLE.csv
origan train --preset ring8 --set train.k=0
```

The key `train.kk`, `data.params.radius`, `generator.hiden = [64]`, `train.update = "sideways"` and
`origan sampel RUN`; fine: `origan sample RUN --per-class 10` and `origan theory NAME --out DIR`.

| preset | what |
| --- | --- |
| `ring8` | fine |
| `ring7` | not a preset |
"""


def test_checker_catches_mistakes(tmp_path: Path) -> None:
    scratch = tmp_path / "README.md"  # a scratch copy, never the real README
    scratch.write_text(SCRATCH, encoding="utf-8")
    doc = read_readme(scratch)
    commands = shell_commands(doc)
    inline = inline_commands(doc)

    assert [(c.line, c.argv) for c in commands] == [
        (4, ("sample", "RUN", "--nn", "3", "--out", "x.npy")),
        (5, ("train", "--preset", "ring8", "--set", "train.kk=2", "--out", "runs/x")),
        (6, ("train", "--preset", "ring9")),
        (7, ("sample", "runs/x", "-n", "10", "--out", "a b.csv")),
        (8, ("train", "--preset", "csv", "--set", 'data.drop_columns=["id"]', "--set", "data.path=TABLE.csv")),
        (10, ("train", "--preset", "ring8", "--set", "train.k=0")),
    ]
    problems = [command_problem(c) for c in commands]
    assert problems[0] is not None and "--nn" in problems[0] and "line 4" in problems[0]
    assert problems[1:] == [None] * 5

    resolved = [resolve_problem(c) for c in commands]
    assert resolved[1] is not None and "train.kk" in resolved[1]
    assert resolved[2] is not None and "ring9" in resolved[2]
    assert resolved[5] is not None and "train.k" in resolved[5]
    assert resolved[3] is None and resolved[4] is None

    assert [(c.line, command_problem(c) is None) for c in inline] == [(14, False), (14, True), (14, True)]

    bad = {m.key for m in config_keys(doc, commands + inline) if key_problem(m) is not None}
    assert bad == {"train.kk", "generator.hiden", "train.update", "train.k"}

    presets = preset_mentions(doc, commands + inline)
    assert {name for _, name in presets if name not in PRESETS} == {"ring9", "ring7"}
