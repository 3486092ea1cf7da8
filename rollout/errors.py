"""One-line, user-facing errors for bad input.

Every problem names the file, the key path, what was found and what is accepted, so a
platform engineer can fix it without reading Python. The CLI prints ``str(problem)`` for each
and exits 2; nothing here ever reaches the user as a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

EXIT_INVALID = 2


def format_path(path: Sequence[str | int]) -> str:
    """``("cells", "eu-1", "cidr")`` -> ``cells.eu-1.cidr``; list indexes as ``[0]``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(root)"


@dataclass(frozen=True)
class Problem:
    """A single thing wrong with a file, rendered on one line."""

    file: str
    path: str
    message: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        message = " ".join(self.message.split())  # always one line
        return f"{where}: {self.path}: {message}"


class InputError(Exception):
    """Raised for any user mistake in the project's files. Carries one or more problems."""

    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def one(
        cls,
        file: str,
        path: str,
        message: str,
        line: int | None = None,
        column: int | None = None,
    ) -> InputError:
        return cls([Problem(file, path, message, line, column)])
