"""The feed form of the transcoder's tagged values (`projections.events.stored_events`): the
shortcuts (a UTC time written as it is stored, remembered conversions) give exactly what
the domain's own conversions give."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.event_data import rfc3339
from domain.values import decimal_text
from projections.events.stored_events import Memo, NotPlain, feed_time, feed_value

pytestmark = pytest.mark.unit

zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8)), None]
)


@given(st.datetimes(timezones=zones))
def test_a_stored_time_reads_as_rfc3339_writes_it(moment: datetime) -> None:
    stored = moment.isoformat()  # what the transcoder stores
    if moment.tzinfo is None:
        assert feed_time(stored) == rfc3339(datetime.fromisoformat(stored))
    else:
        assert feed_time(stored) == rfc3339(moment)


@pytest.mark.parametrize(
    "stored",
    [
        "2026-11-28T07:23:41.658827+00:00",
        "2026-11-28T07:23:41+00:00",
        "2026-11-28 07:23:41.658827+00:00",
        "2026-W48-6T07:23:41.658827+00:00",
        "0999-01-01T00:00:00.000001+00:00",
        "2026-11-28T07:23:41.658827+01:00",
    ],
)
def test_iso_forms_that_look_alike_read_as_rfc3339_writes_them(stored: str) -> None:
    assert feed_time(stored) == rfc3339(datetime.fromisoformat(stored))


def test_a_time_that_is_no_time_does_not_read() -> None:
    with pytest.raises(ValueError):
        feed_time("2026-13-28T07:23:41.658827+00:00")


@given(st.decimals(allow_nan=False, allow_infinity=False))
def test_a_stored_decimal_reads_as_decimal_text_writes_it(value: Decimal) -> None:
    stored = {"_type_": "decimal_str", "_data_": str(value)}

    assert feed_value(stored) == feed_value(dict(stored)) == decimal_text(value)


@given(st.dates())
def test_a_stored_date_reads_as_its_iso_form(day: date) -> None:
    assert feed_value({"_type_": "date_iso", "_data_": day.isoformat()}) == day.isoformat()


def test_a_tag_of_a_number_is_converted_not_remembered() -> None:
    assert feed_value({"_type_": "decimal_str", "_data_": 12}) == "12"


def test_an_unknown_tag_and_a_float_are_not_plain() -> None:
    with pytest.raises(NotPlain):
        feed_value({"_type_": "unknown", "_data_": "x"})
    with pytest.raises(NotPlain):
        feed_value([1.5])


def test_a_memo_forgets_when_full() -> None:
    memo = Memo(str.upper, size=3)

    answers = [memo[text] for text in ["a", "b", "c", "d", "a"]]

    assert answers == ["A", "B", "C", "D", "A"]
    assert len(memo) <= 3
