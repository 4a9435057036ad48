"""The README documents the command line as it is: every command and option of `kokuho` is in its
options table, and every option the README gives a command exists (walks the click command tree)."""

from __future__ import annotations

import re

import click
import pytest

from kokuho.cli import cli
from kokuho.config import project_root

README = (project_root() / "README.md").read_text(encoding="utf-8")
OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")
# `kokuho NAME …` in an inline code span, or on a line of a code block
MENTION = re.compile(r"`kokuho ([a-z]+)([^`]*)`|^\s*(?:.*\|\s*|.*&&\s*)?kokuho ([a-z]+)(.*)$", re.M)


def all_commands() -> dict[str, click.Command]:
    """Every command by what follows `kokuho`; a group's subcommands as `group sub`."""
    found: dict[str, click.Command] = {}
    for name, command in cli.commands.items():
        if isinstance(command, click.Group):
            found.update({f"{name} {sub}": c for sub, c in command.commands.items()})
        else:
            found[name] = command
    return found


COMMANDS = all_commands()


def command_name(first: str, rest: str) -> tuple[str, str]:
    """(`catalog new`, the rest after it) when `first` is a group; else (first, rest)."""
    if isinstance(cli.commands.get(first), click.Group):
        sub, _, rest = rest.strip().partition(" ")
        return f"{first} {sub}", rest
    return first, rest


def options_of(command: click.Command) -> set[str]:
    return {
        name
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden
        for name in param.opts
        if name.startswith("--") and name != "--help"
    }


def options_table() -> dict[str, set[str]]:
    """{command: options} from the README's table of each command's options."""
    table = README.split("| command | options |", 1)[1].split("\n\n", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        match = re.match(r"\| `kokuho ([a-z]+)([^`]*)` \| (.*) \|$", line)
        assert match, f"not a row of the options table: {line!r}"
        rows[command_name(match.group(1), match.group(2))[0]] = set(OPTION.findall(match.group(3)))
    return rows


def readme_mentions() -> list[tuple[str, str]]:
    """(command, the rest of the mention) for every `kokuho NAME …` the README shows."""
    mentions = []
    for match in MENTION.finditer(README):
        name = match.group(1) or match.group(3)
        rest = match.group(2) if match.group(1) else match.group(4)
        rest = re.sub(r'"[^"]*"|\'[^\']*\'|#.*$', "", rest)  # SQL, cron strings and comments
        mentions.append(command_name(name, rest.split("`", 1)[0]))
    return mentions


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_command_and_option_is_in_the_readme(name: str) -> None:
    table = options_table()
    assert name in table, f"kokuho {name} is missing from the README's options table"
    missing = options_of(COMMANDS[name]) - table[name]
    assert not missing, f"kokuho {name}: {sorted(missing)} not in the README's options table"


@pytest.mark.parametrize("name", sorted(options_table()))
def test_the_readme_names_only_options_that_exist(name: str) -> None:
    assert name in COMMANDS, f"the README's options table names kokuho {name}, which does not exist"
    unknown = options_table()[name] - options_of(COMMANDS[name])
    assert not unknown, f"the README gives kokuho {name} {sorted(unknown)}, which it does not take"


def test_every_mention_in_the_readme_uses_real_options() -> None:
    mentions = readme_mentions()
    assert len(mentions) > 20  # the pattern finds the README's examples
    wrong = [
        (name, option)
        for name, rest in mentions
        for option in OPTION.findall(rest)
        if name not in COMMANDS or option not in options_of(COMMANDS[name])
    ]
    assert not wrong, wrong


def test_the_check_finds_a_missing_option() -> None:
    """The table parser sees what it must: remove one option from a row and it is missing."""
    table = options_table()
    assert "--max-width" in table["sql"]
    assert "--max-width" in options_of(cli.commands["sql"])
    assert "--no-such-option" not in options_of(cli.commands["sql"])


def test_a_groups_subcommands_are_rows_of_their_own() -> None:
    """`kokuho catalog new` is its own row, checked against the subcommand's options."""
    table = options_table()
    assert "--from" in table["catalog new"] and "--from" in options_of(COMMANDS["catalog new"])
    assert "catalog" not in COMMANDS  # the group itself takes no option but --help
