"""Errors raised when a portfolio folder or its files are not valid input."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class InputError:
    """One problem found in the input, located as precisely as possible.

    Attributes
    ----------
    file : str
        File name inside the portfolio folder (``"accounts.csv"``), or the table name or
        folder path when the problem is that something is missing.
    line : int
        1-based physical line of a CSV file, the header being line 1 (so the first data row is
        line 2). For Parquet, the 1-based row number plus 1, so the first row is line 2 as it
        would be in the same table written as CSV. 0 when the problem concerns the whole file
        or folder; 1 for a problem with the header.
    column : str
        Column name, or ``""`` when the problem is not about one column.
    reason : str
        What is wrong, in words a person can act on.
    """

    file: str
    line: int
    column: str
    reason: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.column:
            where += f" [{self.column}]"
        return f"{where}: {self.reason}"


class PortfolioInvalid(ValueError):
    """A portfolio could not be read; nothing was imported.

    Parameters
    ----------
    errors : iterable of InputError
        Every problem found (validation is complete, not fail-fast). Must not be empty.
    shown : int, default 20
        How many errors ``str()`` renders before summarising the rest as a count.

    Attributes
    ----------
    errors : list of InputError
        Every problem found, ordered by table, line and column.
    """

    def __init__(self, errors: Iterable[InputError], *, shown: int = 20) -> None:
        self.errors: list[InputError] = list(errors)
        self.shown = shown
        super().__init__(self.errors)

    def __str__(self) -> str:
        n = len(self.errors)
        head = f"portfolio is invalid: {n} error{'s' if n != 1 else ''}"
        lines = [head, *(f"  {e}" for e in self.errors[: self.shown])]
        if n > self.shown:
            lines.append(f"  ... and {n - self.shown} more")
        return "\n".join(lines)


__all__ = ["InputError", "PortfolioInvalid"]
