"""A snapshot read from the database (bulk reads straight from the driver) holds exactly
what one built from the imported feed holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.orm import Session

from transit.routing import Snapshot
from transit.timetable.formats import parse_timetable
from transit.timetable.loader import load_feed

ARRAYS = (
    "stop_city", "stop_arr", "stop_dep", "stop_fare", "stop_board", "stop_alight", "stop_cum",
    "trip_len", "trip_first", "trip_calendar", "trip_service", "conn_from", "conn_to",
    "conn_trip", "conn_dep_local", "conn_arr_local", "city_mct",
)


@pytest.mark.parametrize(
    "source", ["classic/Zemdalk-utf8", "classic/Nenieco-test", "gtfs/caltrain_gtfs_2017-07-24.zip"]
)
def test_database_snapshot_equals_feed_snapshot(
    session: Session, shared_data: Path, source: str
) -> None:
    feed = parse_timetable(shared_data / source)
    load_feed(session, feed)
    session.commit()
    from_db = Snapshot.from_session(session, 15)
    from_feed = Snapshot.from_feed(feed, 15)
    assert from_db.connection_count == from_feed.connection_count > 0
    assert from_db.city_names == from_feed.city_names
    assert from_db.city_codes == from_feed.city_codes
    assert from_db.service_number == from_feed.service_number
    assert from_db.trip_code == from_feed.trip_code
    for name in ARRAYS:
        assert np.array_equal(getattr(from_db, name), getattr(from_feed, name)), name
    assert from_db.service_od == from_feed.service_od
    # (Caltrain: its Tamien shuttle has no price, so no currency: no fare information.)
    assert from_db.service_currency == from_feed.service_currency
