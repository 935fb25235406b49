"""The GTFS and CSV bundle imports held to the rules of the admin's forms: a fare's currency
is an ISO 4217 code, one for the whole GTFS feed; the names they store carry no control or
invisible characters (transit.schemas.text_problem)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.test_gtfs import BASE, write_feed
from transit.models import City, Service, ServiceFare
from transit.timetable.feed import ImportFailed
from transit.timetable.gtfs import parse_gtfs
from transit.timetable.loader import load_feed


def _refusal(folder: Path) -> ImportFailed:
    with pytest.raises(ImportFailed) as failure:
        parse_gtfs(folder)
    return failure.value


def _places(error: ImportFailed) -> list[tuple[str, int | None, str | None]]:
    return [(p.file, p.line, p.field) for p in error.problems]


def _count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


# --- 1. GTFS fares: an ISO 4217 currency, one for the feed ------------------------------------


def _fares(*rows: str) -> dict[str, str]:
    return {**BASE, "fare_attributes.txt": "fare_id,price,currency_type,payment_method,transfers\n"
            + "".join(f"{row}\n" for row in rows)}


@pytest.mark.parametrize("code", ["XYZ", "C1Y", "EURO", "$"])
def test_a_fare_currency_that_is_no_iso_code_is_refused_at_its_line(tmp_path: Path, code: str) -> None:
    """Any three letters were taken (XYZ), and the service then stored a currency its form
    refuses to save unchanged: the rule of the form, the API and the CSV bundle."""
    error = _refusal(write_feed(tmp_path / "feed", _fares("F1,12.50,CHF,0,", f"F2,99,{code},0,")))
    assert _places(error) == [("fare_attributes.txt", 3, "currency_type")]
    assert error.problems[0].message == (
        f"{code!r} is not an ISO 4217 currency code (such as CNY, EUR or USD)")


def test_an_empty_fare_currency_is_required(tmp_path: Path) -> None:
    error = _refusal(write_feed(tmp_path / "feed", _fares("F1,12.50,,0,", "F2,99,CHF,0,")))
    assert _places(error) == [("fare_attributes.txt", 2, "currency_type")]
    assert error.problems[0].message == "a value is required"


def test_a_currency_in_small_letters_is_that_currency(tmp_path: Path) -> None:
    feed = parse_gtfs(write_feed(tmp_path / "feed", _fares("F1,12.50,chf,0,", "F2,99,Chf,0,")))
    assert {service.currency for service in feed.services} == {"CHF"}


def test_fares_in_two_currencies_are_refused_and_nothing_is_written(
    session: Session, tmp_path: Path
) -> None:
    """A feed whose fares mix USD and EUR got the first currency sorted (EUR) for every
    service, and 12.50 USD read as 12.50 EUR: refused where the second currency begins,
    naming both; nothing is written."""
    folder = write_feed(tmp_path / "feed", _fares("F1,12.50,USD,0,", "F2,99,USD,0,", "F3,5,EUR,0,",
                                                  "F4,7,GBP,0,"))
    error = _refusal(folder)
    assert _places(error) == [("fare_attributes.txt", 4, "currency_type")]
    assert error.problems[0].message == (
        "the fares of this feed are in 3 currencies (USD, EUR, GBP): EUR here, USD from line 2; "
        "one feed's fares must share one currency, as each service is priced in one currency "
        "and prices are not converted")
    assert (_count(session, Service), _count(session, City), _count(session, ServiceFare)) == (0, 0, 0)


def test_fares_in_one_currency_are_read_in_it(session: Session, tmp_path: Path) -> None:
    feed = parse_gtfs(write_feed(tmp_path / "feed", _fares("F1,12.50,USD,0,", "F2,99,USD,0,")))
    load_feed(session, feed)
    session.commit()
    assert set(session.scalars(select(Service.currency))) == {"USD"}
    assert sorted(session.scalars(select(ServiceFare.fare_cents))) == [1250, 9900]
