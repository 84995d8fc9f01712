"""§3 events: every command yields its event with its actor; refused transitions and
conflicts; how events read outside the store (type name, actor, JSON-safe data)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4

import pytest

from domain.claims import Claim, ClaimFields
from domain.errors import (
    AlreadyExists,
    ApiKeyNotFound,
    ClaimNotFound,
    InvalidTransition,
    MetricNotFound,
    SourceNotFound,
    ValidationFailed,
    VersionMismatch,
)
from domain.event_data import event_actor, event_data, event_type, json_safe, rfc3339
from domain.keys import ApiKey, hash_secret, key_id_of
from domain.ledger import Ledger
from domain.metrics import Metric, metric_stream
from domain.sources import Source, source_stream
from domain.values import ClaimStatus, Credibility, Qualifier, Reliability, Role
from tests.builders import claim as claim_fields

pytestmark = pytest.mark.unit

TODAY = date(2025, 2, 1)
KILLED = "dprk-in-russia/killed"


@pytest.fixture
def ledger() -> Ledger:
    app = Ledger(today=lambda: TODAY)
    app.register_source("moscow-times", "The Moscow Times", "outlet", None, None, actor="admin")
    app.register_source("south-korea", "South Korea", "government", None, None, actor="admin")
    app.define_metric(KILLED, "Killed", "people", None, actor="admin")
    return app


def killed_claim(**changes) -> ClaimFields:
    return replace(claim_fields(KILLED, 300, "moscow-times", "south-korea"), **changes)


@pytest.fixture
def claim(ledger) -> Claim:
    return ledger.record_claim(killed_claim(), actor="alice").aggregate


def events_of(ledger: Ledger, stream: UUID) -> list[object]:
    return list(ledger.events.get(stream))


def all_events(ledger: Ledger) -> list[object]:
    notifications = ledger.recorder.select_notifications(start=1, limit=1000)
    return [ledger.mapper.to_domain_event(n) for n in notifications]


def last_event(ledger: Ledger, stream: UUID) -> object:
    return events_of(ledger, stream)[-1]


# Source


def test_registering_a_source_records_source_registered_with_its_actor(ledger):
    saved = ledger.register_source("nyt", "NYT", "outlet", "https://nyt.com", None, actor="ann")
    [registered] = events_of(ledger, saved.aggregate.id)
    assert event_type(registered) == "Source.Registered"
    assert event_actor(registered) == "ann"
    assert event_data(registered) == {
        "kind": "outlet",
        "name": "NYT",
        "reason": None,
        "slug": "nyt",
        "url": "https://nyt.com",
    }
    assert saved.aggregate.reliability == "F"


def test_a_source_registered_with_a_reliability_is_rated_in_the_same_save(ledger):
    before = ledger.max_position()
    saved = ledger.register_source("nyt", "NYT", "outlet", None, Reliability.B, actor="ann")
    events = events_of(ledger, saved.aggregate.id)
    assert [event_type(e) for e in events] == ["Source.Registered", "Source.Rated"]
    assert event_data(events[1]) == {"reason": "initial rating", "reliability": "B"}
    assert event_actor(events[1]) == "ann"
    assert saved.position == before + 2
    assert ledger.get_source("nyt").reliability == "B"


def test_a_source_registered_at_the_default_grade_f_is_not_rated(ledger):
    saved = ledger.register_source("nyt", "NYT", "outlet", None, Reliability.F, actor="ann")
    assert [event_type(e) for e in events_of(ledger, saved.aggregate.id)] == ["Source.Registered"]


def test_updating_a_source_records_only_the_fields_that_change(ledger):
    saved = ledger.update_source(
        "moscow-times", {"name": "Moscow Times", "kind": "outlet"}, None, actor="ed"
    )
    updated = last_event(ledger, saved.aggregate.id)
    assert event_type(updated) == "Source.Updated"
    assert event_actor(updated) == "ed"
    assert event_data(updated) == {"fields": {"name": "Moscow Times"}, "reason": None}
    assert ledger.get_source("moscow-times").name == "Moscow Times"


def test_an_update_that_changes_nothing_is_an_invalid_transition(ledger):
    with pytest.raises(InvalidTransition):
        ledger.update_source("moscow-times", {"kind": "outlet"}, None, actor="ed")


def test_an_update_cannot_change_a_sources_reliability_or_slug(ledger):
    # the grade changes only through Source.Rated, and one slug is one stream
    with pytest.raises(ValidationFailed) as raised:
        ledger.update_source("moscow-times", {"reliability": "A", "slug": "mt"}, None, actor="ed")
    assert raised.value.errors == [
        ("fields.reliability", "cannot be updated"),
        ("fields.slug", "cannot be updated"),
    ]
    assert ledger.get_source("moscow-times").reliability == "F"


def test_rating_a_source_records_source_rated_with_actor_and_reason(ledger):
    saved = ledger.rate_source("south-korea", Reliability.B, "track record", None, actor="ed")
    rated = last_event(ledger, saved.aggregate.id)
    assert event_type(rated) == "Source.Rated"
    assert event_actor(rated) == "ed"
    assert event_data(rated) == {"reason": "track record", "reliability": "B"}
    assert saved.aggregate.reliability == "B"
    assert saved.aggregate.version == 2


def test_registering_a_source_slug_twice_raises_already_exists(ledger):
    with pytest.raises(AlreadyExists) as raised:
        ledger.register_source("south-korea", "Again", "government", None, None, actor="ann")
    assert (raised.value.kind, raised.value.identifier) == ("source", "south-korea")


def test_one_slug_is_always_one_stream():
    assert Source.create_id("bbc") == source_stream("bbc") == source_stream("bbc")
    assert source_stream("bbc") != source_stream("bbc-russian")
    assert Metric.create_id("bbc") == metric_stream("bbc") != source_stream("bbc")
    assert source_stream("bbc").version == 5


def test_an_unknown_source_is_not_found(ledger):
    with pytest.raises(SourceNotFound):
        ledger.get_source("nobody")
    with pytest.raises(SourceNotFound):
        ledger.rate_source("nobody", Reliability.A, None, None, actor="ed")


def test_rating_with_a_stale_expected_version_raises_version_mismatch(ledger):
    with pytest.raises(VersionMismatch) as raised:
        ledger.rate_source("south-korea", Reliability.A, None, expected_version=3, actor="ed")
    assert (raised.value.expected, raised.value.actual) == (3, 1)


def test_rating_with_the_current_expected_version_succeeds(ledger):
    saved = ledger.rate_source("south-korea", Reliability.A, None, expected_version=1, actor="ed")
    assert saved.aggregate.version == 2


def test_updating_with_a_stale_expected_version_raises_version_mismatch(ledger):
    with pytest.raises(VersionMismatch):
        ledger.update_source("south-korea", {"name": "ROK"}, expected_version=2, actor="ed")


# Metric


def test_defining_a_metric_records_metric_defined_with_its_actor(ledger):
    saved = ledger.define_metric("x/wounded", "Wounded", "people", "desc", actor="ann")
    [defined] = events_of(ledger, saved.aggregate.id)
    assert event_type(defined) == "Metric.Defined"
    assert event_actor(defined) == "ann"
    assert event_data(defined) == {
        "description": "desc",
        "name": "Wounded",
        "reason": None,
        "slug": "x/wounded",
        "unit": "people",
    }
    assert saved.aggregate.id == metric_stream("x/wounded")


def test_defining_a_metric_slug_twice_raises_already_exists(ledger):
    with pytest.raises(AlreadyExists) as raised:
        ledger.define_metric(KILLED, "Again", "people", None, actor="ann")
    assert raised.value.kind == "metric"


def test_an_unknown_metric_is_not_found(ledger):
    with pytest.raises(MetricNotFound):
        ledger.get_metric("nothing")


def test_updating_a_metric_records_metric_updated_with_its_actor():
    metric = Metric(slug="m", name="M", unit="people", description=None, actor="ann", reason=None)
    metric.update({"description": "figures"}, actor="ed", reason="clarify")
    updated = metric.collect_events()[-1]
    assert event_type(updated) == "Metric.Updated"
    assert event_actor(updated) == "ed"
    assert event_data(updated) == {"fields": {"description": "figures"}, "reason": "clarify"}


def test_a_metric_update_that_changes_nothing_is_an_invalid_transition():
    metric = Metric(slug="m", name="M", unit="people", description=None, actor="ann", reason=None)
    with pytest.raises(InvalidTransition):
        metric.update({"name": "M"}, actor="ed", reason=None)


def test_a_metric_update_cannot_change_the_unit():
    metric = Metric(slug="m", name="M", unit="people", description=None, actor="ann", reason=None)
    with pytest.raises(ValidationFailed):
        metric.update({"unit": "percent"}, actor="ed", reason=None)
    assert metric.unit == "people"


# Claim


def test_recording_a_claim_records_claim_recorded_with_every_field_and_its_actor(ledger, claim):
    [recorded] = events_of(ledger, claim.id)
    assert event_type(recorded) == "Claim.Recorded"
    assert event_actor(recorded) == "alice"
    assert event_data(recorded) == {
        "as_of": "2025-01-15",
        "attributed_to": ["south-korea"],
        "metric": KILLED,
        "note": None,
        "period_start": None,
        "published_at": "2025-01-22",
        "qualifier": "exact",
        "quote": None,
        "reason": None,
        "reported_by": "moscow-times",
        "url": None,
        "value": "300",
        "value_high": None,
    }
    assert claim.status == ClaimStatus.ACTIVE
    assert claim.credibility == Credibility.CANNOT_BE_JUDGED
    assert claim.recorded_by == "alice"
    assert claim.origin == "south-korea"


def test_the_origin_of_a_claim_without_attribution_is_its_reporter(ledger):
    saved = ledger.record_claim(killed_claim(attributed_to=()), actor="alice")
    assert saved.aggregate.origin == "moscow-times"


def test_a_claim_id_is_a_fresh_uuid_each_time(ledger):
    first = ledger.record_claim(killed_claim(), actor="alice").aggregate
    second = ledger.record_claim(killed_claim(), actor="alice").aggregate
    assert first.id != second.id
    assert isinstance(first.id, UUID)


def test_correcting_a_claim_records_only_the_changed_fields(ledger, claim):
    saved = ledger.correct_claim(
        claim.id,
        {"value": Decimal("350.0"), "qualifier": Qualifier.EXACT, "note": "fixed"},
        "typo",
        None,
        actor="ed",
    )
    corrected = last_event(ledger, claim.id)
    assert event_type(corrected) == "Claim.Corrected"
    assert event_actor(corrected) == "ed"
    assert event_data(corrected) == {
        "changes": {"note": "fixed", "value": "350"},
        "reason": "typo",
    }
    assert saved.aggregate.value == Decimal(350)
    assert saved.aggregate.version == 2


def test_a_correction_renders_range_values_as_plain_decimal_strings(ledger, claim):
    ledger.correct_claim(
        claim.id,
        {"qualifier": Qualifier.RANGE, "value_high": Decimal("1.5E+3")},
        "was a range",
        None,
        actor="ed",
    )
    assert event_data(last_event(ledger, claim.id))["changes"] == {
        "qualifier": "range",
        "value_high": "1500",
    }


def test_a_correction_that_changes_nothing_is_an_invalid_transition(ledger, claim):
    with pytest.raises(InvalidTransition):
        ledger.correct_claim(claim.id, {"value": Decimal("3E+2")}, "same", None, actor="ed")


def test_a_correction_repeating_the_attribution_as_a_list_changes_nothing(ledger, claim):
    with pytest.raises(InvalidTransition):
        ledger.correct_claim(claim.id, {"attributed_to": ["south-korea"]}, "same", None, "ed")
    assert ledger.get_claim(claim.id).version == 1


def test_a_corrected_attribution_changes_the_origin(ledger, claim):
    saved = ledger.correct_claim(claim.id, {"attributed_to": ()}, "no chain", None, actor="ed")
    assert saved.aggregate.origin == "moscow-times"
    assert event_data(last_event(ledger, claim.id))["changes"] == {"attributed_to": []}


def test_retracting_a_claim_records_claim_retracted(ledger, claim):
    saved = ledger.retract_claim(claim.id, "withdrawn", None, actor="ed")
    retracted = last_event(ledger, claim.id)
    assert event_type(retracted) == "Claim.Retracted"
    assert event_actor(retracted) == "ed"
    assert event_data(retracted) == {"reason": "withdrawn"}
    assert saved.aggregate.status == ClaimStatus.RETRACTED


def test_retracting_twice_is_an_invalid_transition(ledger, claim):
    ledger.retract_claim(claim.id, "withdrawn", None, actor="ed")
    with pytest.raises(InvalidTransition):
        ledger.retract_claim(claim.id, "again", None, actor="ed")


def test_reinstating_a_retracted_claim_records_claim_reinstated(ledger, claim):
    ledger.retract_claim(claim.id, "withdrawn", None, actor="ed")
    saved = ledger.reinstate_claim(claim.id, "mistake", None, actor="eve")
    reinstated = last_event(ledger, claim.id)
    assert event_type(reinstated) == "Claim.Reinstated"
    assert event_actor(reinstated) == "eve"
    assert event_data(reinstated) == {"reason": "mistake"}
    assert saved.aggregate.status == ClaimStatus.ACTIVE


def test_reinstating_an_active_claim_is_an_invalid_transition(ledger, claim):
    with pytest.raises(InvalidTransition):
        ledger.reinstate_claim(claim.id, "never retracted", None, actor="ed")


def test_assessing_a_claim_records_claim_assessed(ledger, claim):
    saved = ledger.assess_claim(claim.id, Credibility.PROBABLY_TRUE, "two sources", None, "ed")
    assessed = last_event(ledger, claim.id)
    assert event_type(assessed) == "Claim.Assessed"
    assert event_actor(assessed) == "ed"
    assert event_data(assessed) == {"credibility": 2, "note": "two sources", "reason": None}
    assert saved.aggregate.credibility == 2


@pytest.mark.parametrize("credibility", [0, 7, -1])
def test_a_credibility_outside_one_to_six_is_refused(ledger, claim, credibility):
    with pytest.raises(ValidationFailed):
        ledger.assess_claim(claim.id, credibility, None, None, actor="ed")


def test_a_claims_version_counts_its_events_and_older_versions_can_be_read(ledger, claim):
    ledger.assess_claim(claim.id, 1, None, None, actor="ed")
    ledger.retract_claim(claim.id, "withdrawn", None, actor="ed")
    assert ledger.get_claim(claim.id).version == 3
    assert ledger.get_claim(claim.id, version=1).credibility == Credibility.CANNOT_BE_JUDGED
    assert ledger.get_claim(claim.id, version=2).status == ClaimStatus.ACTIVE


@pytest.mark.parametrize(
    "command",
    [
        lambda app, cid: app.retract_claim(cid, "r", 5, actor="ed"),
        lambda app, cid: app.reinstate_claim(cid, "r", 5, actor="ed"),
        lambda app, cid: app.assess_claim(cid, 2, None, 5, actor="ed"),
        lambda app, cid: app.correct_claim(cid, {"note": "n"}, "r", 5, actor="ed"),
    ],
    ids=["retract", "reinstate", "assess", "correct"],
)
def test_a_claim_command_with_a_stale_expected_version_raises_version_mismatch(
    ledger, claim, command
):
    with pytest.raises(VersionMismatch) as raised:
        command(ledger, claim.id)
    assert (raised.value.expected, raised.value.actual) == (5, 1)
    assert ledger.get_claim(claim.id).version == 1


def test_an_unknown_claim_is_not_found(ledger):
    with pytest.raises(ClaimNotFound):
        ledger.retract_claim(uuid4(), "r", None, actor="ed")


def test_a_source_stream_is_not_found_as_a_claim(ledger):
    with pytest.raises(ClaimNotFound):
        ledger.get_claim(source_stream("south-korea"))


# ApiKey


def test_issuing_a_key_records_only_the_hash_of_its_secret(ledger):
    issued = ledger.issue_key("ci", Role.EDITOR, actor="root")
    [event] = events_of(ledger, issued.key.id)
    data = event_data(event)
    assert event_type(event) == "ApiKey.Issued"
    assert event_actor(event) == "root"
    assert data == {
        "key_hash": hashlib.sha256(issued.secret.encode()).hexdigest(),
        "name": "ci",
        "reason": None,
        "role": "editor",
    }
    assert issued.secret not in json.dumps(data)
    assert issued.secret not in repr(vars(event))
    assert issued.secret.startswith("clk_")
    assert key_id_of(issued.secret) == issued.key.id


def test_two_issued_keys_have_different_secrets(ledger):
    first = ledger.issue_key("a", Role.READER, actor="root")
    second = ledger.issue_key("b", Role.READER, actor="root")
    assert first.secret != second.secret
    assert first.key.key_hash == hash_secret(first.secret)


def test_revoking_a_key_records_api_key_revoked(ledger):
    issued = ledger.issue_key("ci", Role.READER, actor="root")
    saved = ledger.revoke_key(issued.key.id, "leaked", actor="root")
    revoked = last_event(ledger, issued.key.id)
    assert event_type(revoked) == "ApiKey.Revoked"
    assert event_actor(revoked) == "root"
    assert event_data(revoked) == {"reason": "leaked"}
    assert saved.aggregate.revoked is True


def test_revoking_a_key_twice_is_an_invalid_transition(ledger):
    issued = ledger.issue_key("ci", Role.READER, actor="root")
    ledger.revoke_key(issued.key.id, "leaked", actor="root")
    with pytest.raises(InvalidTransition):
        ledger.revoke_key(issued.key.id, "again", actor="root")


def test_revoking_an_unknown_key_is_not_found(ledger):
    with pytest.raises(ApiKeyNotFound):
        ledger.revoke_key(uuid4(), None, actor="root")


def test_a_key_has_one_of_the_four_roles():
    with pytest.raises(ValueError):
        ApiKey(id=uuid4(), name="k", role="owner", key_hash="0" * 64, actor="root", reason=None)


def test_a_key_issued_with_a_chosen_id_has_it_and_a_second_is_already_exists(ledger):
    chosen = uuid4()
    issued = ledger.issue_key("ci", Role.READER, actor="root", key_id=chosen)
    assert issued.key.id == chosen
    assert ledger.get_key(chosen).key_hash == hash_secret(issued.secret)
    with pytest.raises(AlreadyExists):
        ledger.issue_key("ci", Role.READER, actor="root", key_id=chosen)
    assert len(events_of(ledger, chosen)) == 1


@pytest.mark.parametrize(
    "secret",
    [
        "cl_" + "k_" + "0" * 32 + "_x",  # the older form
        "clk_" + "0" * 32,  # no random part
        "clk_" + "0" * 31 + "g_x",  # not hex
        "clk_" + "A" * 32 + "_x",  # not lowercase
        "clk_" + "0" * 33 + "_x",  # the id too long
        "",
    ],
)
def test_a_secret_not_in_the_current_form_names_no_key(secret):
    assert key_id_of(secret) is None


def test_a_secret_names_its_key_even_when_its_random_part_holds_underscores():
    key = uuid4()
    assert key_id_of(f"clk_{key.hex}_a_b_{'_' * 5}") == key


# the whole log


def test_every_event_in_the_log_carries_a_non_empty_actor(ledger, claim):
    ledger.rate_source("south-korea", Reliability.C, None, None, actor="ed")
    ledger.assess_claim(claim.id, 3, None, None, actor="ed")
    ledger.retract_claim(claim.id, "r", None, actor="ed")
    ledger.issue_key("k", Role.ADMIN, actor="root")
    events = all_events(ledger)
    assert len(events) == ledger.max_position() == 8
    assert all(event_actor(e) for e in events)


def test_positions_returned_by_commands_increase_strictly(ledger, claim):
    positions = [
        ledger.max_position(),
        ledger.assess_claim(claim.id, 3, None, None, actor="ed").position,
        ledger.retract_claim(claim.id, "r", None, actor="ed").position,
        ledger.issue_key("k", Role.ADMIN, actor="root").position,
    ]
    assert positions == sorted(set(positions))


def test_every_event_type_is_named_aggregate_dot_event(ledger, claim):
    ledger.update_source("moscow-times", {"url": "https://mt.example"}, None, actor="ed")
    ledger.rate_source("south-korea", Reliability.C, None, None, actor="ed")
    ledger.correct_claim(claim.id, {"note": "n"}, "r", None, actor="ed")
    ledger.assess_claim(claim.id, 3, None, None, actor="ed")
    ledger.retract_claim(claim.id, "r", None, actor="ed")
    ledger.reinstate_claim(claim.id, "r", None, actor="ed")
    key = ledger.issue_key("k", Role.ADMIN, actor="root").key
    ledger.revoke_key(key.id, None, actor="root")
    assert {event_type(e) for e in all_events(ledger)} == {
        "Source.Registered",
        "Source.Updated",
        "Source.Rated",
        "Metric.Defined",
        "Claim.Recorded",
        "Claim.Corrected",
        "Claim.Retracted",
        "Claim.Assessed",
        "Claim.Reinstated",
        "ApiKey.Issued",
        "ApiKey.Revoked",
    }


def test_event_data_leaves_out_the_envelope(ledger, claim):
    data = event_data(events_of(ledger, claim.id)[0])
    assert not {"originator_id", "originator_version", "timestamp", "actor"} & set(data)
    assert "originator_topic" not in data


def test_event_data_is_plain_json_with_sorted_keys(ledger, claim):
    data = event_data(events_of(ledger, claim.id)[0])
    assert list(data) == sorted(data)
    assert json.loads(json.dumps(data)) == data


# json_safe and rfc3339


def test_json_safe_renders_decimals_dates_uuids_and_enums_as_strings():
    stream = UUID("12345678-1234-5678-1234-567812345678")
    value = {
        "b": [Decimal("1E+3"), date(2025, 1, 2)],
        "a": (stream, Qualifier.RANGE, Reliability.A),
        "n": 3,
        "z": None,
    }
    assert json_safe(value) == {
        "a": ["12345678-1234-5678-1234-567812345678", "range", "A"],
        "b": ["1000", "2025-01-02"],
        "n": 3,
        "z": None,
    }


def test_rfc3339_is_utc_with_microseconds_and_a_z():
    moment = datetime(2025, 1, 22, 10, 0, 0, tzinfo=UTC)
    assert rfc3339(moment) == "2025-01-22T10:00:00.000000Z"
    assert json_safe(moment) == "2025-01-22T10:00:00.000000Z"
