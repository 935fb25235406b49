"""Trip history: the limits on stop positions and on how far times may lie from each other,
and a file that is empty or of the wrong kind said once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_history import run_row, write_csv
from transit.timetable.feed import ImportFailed
from transit.timetable.history import read_bhmtrains, read_history_csv

# --- an empty file, a file of another kind ---------------------------------------------------


def test_an_empty_file_is_said_to_be_empty_once(tmp_path: Path) -> None:
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    for read in (read_history_csv, read_bhmtrains):
        with pytest.raises(ImportFailed) as error:
            read(path)
        assert [str(p) for p in error.value.problems] == [
            "empty.csv, line 1: the file is empty: the first line must name the columns"]


def test_bhmtrains_lists_each_missing_column_once(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "history.csv", [run_row()])
    with pytest.raises(ImportFailed) as error:
        read_bhmtrains(path)
    [problem] = error.value.problems
    missing = problem.message.removeprefix("missing columns: ").split(", ")
    assert len(missing) == len(set(missing)) == 12
    assert "OriginGbttDeparture" in missing and "DestinationGbttArrival" in missing
