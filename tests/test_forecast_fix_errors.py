"""What a user can get wrong with ``flask forecast train|evaluate`` is said in plain words,
with a non-zero exit and no traceback: no trip history, a file that is not bhmtrains."""

from __future__ import annotations

from pathlib import Path

import pytest

from transit.forecast.data import DataError, load_bhmtrains


def _refused(result) -> str:
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), result.exception  # no traceback
    assert "Traceback" not in result.output
    return result.output


@pytest.mark.parametrize("command", [
    ["forecast", "train", "--source", "database", "--quick"],
    ["forecast", "evaluate", "--source", "database", "--tiny", "--report", "REPORT"],
])
def test_no_trip_history_is_said_plainly(runner, tmp_path: Path, command: list[str]) -> None:
    args = [str(tmp_path / "report.json") if a == "REPORT" else a for a in command]
    output = _refused(runner.invoke(args=args))
    assert "the database holds no trip history to learn from" in output
    assert "history import" in output  # what to do
    assert not (tmp_path / "report.json").exists()


def _wrong_files(tmp_path: Path) -> dict[str, Path]:
    services = tmp_path / "services.csv"
    services.write_text("operator,number,route,mode\nCR,G1,,train\n")
    short = tmp_path / "short.csv"
    short.write_text("ServiceId,Status\n1,A\n")
    return {"services": services, "short": short}


@pytest.mark.parametrize("name", ["services", "short"])
@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_a_file_that_is_not_bhmtrains_names_its_missing_columns(
    runner, tmp_path: Path, name: str, command: str
) -> None:
    path = _wrong_files(tmp_path)[name]
    args = ["forecast", command, "--source", "bhmtrains", "--data", str(path), "--tiny"]
    if command == "evaluate":
        args += ["--report", str(tmp_path / "report.json")]
    else:
        args += ["--out", str(tmp_path / "model.pt")]
    output = _refused(runner.invoke(args=args))
    assert f"{path}, line 1: the columns " in output
    assert output.count("OriginGbttDeparture") == 1
    assert "DestinationGbttArrival" in output and "is this bhmtrains.csv.gz?" in output
    assert "line 2" not in output


def test_bhmtrains_rows_and_files_that_cannot_be_read(tmp_path: Path) -> None:
    header = ("TOC,Origin,Destination,Status,OriginGbttDeparture,OriginActualDeparture,"
              "DestinationGbttArrival,DestinationActualArrival\n")
    short_row = tmp_path / "short_row.csv"
    short_row.write_text(header + "XC,BHM,EUS,A,2017-01-02 08:00:00\n")
    with pytest.raises(DataError, match=r"line 2: the row has fewer fields than the header"):
        load_bhmtrains(short_row)
    one_missing = tmp_path / "one_missing.csv"
    one_missing.write_text(header.replace("Status,", "") + "\n")
    with pytest.raises(DataError, match=r"line 1: the column Status is missing"):
        load_bhmtrains(one_missing)
    binary = tmp_path / "binary.csv"
    binary.write_bytes(b"\x80\x81\xff\x00")
    with pytest.raises(DataError, match=r"binary.csv: not a readable CSV file"):
        load_bhmtrains(binary)
    not_gzip = tmp_path / "bhmtrains.csv.gz"
    not_gzip.write_text(header)
    with pytest.raises(DataError, match=r"not a readable CSV file"):
        load_bhmtrains(not_gzip)
