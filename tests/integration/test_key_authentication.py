"""Authentication reads the event store's record of a key, not the lagging view: for
secrets that name their key and for secrets in the older form alike."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any
from uuid import uuid4

import pytest

from api.deps import Principal, authenticate, still_authorised
from api.problems import ApiProblem
from api.services import Services
from domain.keys import ApiKey, hash_secret
from domain.values import Role
from projections.store import Store

from .conftest import ACTOR, StoreAt

pytestmark = pytest.mark.integration


def services_for(store_at: StoreAt, store: Store) -> Services:
    return Services(settings=store_at.settings, store=store, log=Any, signer=Any)  # type: ignore[arg-type]


def principal_of(services: Services, secret: str) -> Principal | None:
    return asyncio.run(authenticate(services, f"Bearer {secret}"))


def refused(services: Services, secret: str) -> bool:
    try:
        principal_of(services, secret)
    except ApiProblem as problem:
        return problem.status == 401
    return False


def test_a_key_authenticates_before_the_views_know_it(store_at: StoreAt, store: Store) -> None:
    services = services_for(store_at, store)
    issued = store.ledger.issue_key("desk", Role.EDITOR, ACTOR)  # views not caught up
    principal = principal_of(services, issued.secret)
    assert principal == Principal(f"key:{issued.key.id}", "desk", Role.EDITOR)


def test_a_key_is_refused_once_revoked_though_the_views_still_hold_it_valid(
    store_at: StoreAt, store: Store
) -> None:
    services = services_for(store_at, store)
    issued = store.ledger.issue_key("desk", Role.EDITOR, ACTOR)
    store.runner.catch_up()
    principal = principal_of(services, issued.secret)
    assert principal is not None
    store.ledger.revoke_key(issued.key.id, "leaked", ACTOR)  # views not caught up
    assert store.queries.key_by_hash(hash_secret(issued.secret))["revoked_at"] is None
    assert refused(services, issued.secret)
    assert asyncio.run(still_authorised(services, principal)) is False


def test_a_secret_in_the_older_form_works_and_is_refused_once_revoked(
    store_at: StoreAt, store: Store
) -> None:
    # given: a key whose secret was made before secrets named their key
    services = services_for(store_at, store)
    old_secret = "cl_" + secrets.token_urlsafe(32)
    key = ApiKey(
        id=uuid4(),
        name="old",
        role="reader",
        key_hash=hash_secret(old_secret),
        actor=ACTOR,
        reason=None,
    )
    store.ledger.save(key)
    store.runner.catch_up()
    # then it works, found through the view's hash -> id
    assert principal_of(services, old_secret) == Principal(f"key:{key.id}", "old", Role.READER)
    # and a revocation holds at once, though the view has not seen it
    store.ledger.revoke_key(key.id, None, ACTOR)
    assert refused(services, old_secret)


def test_a_secret_naming_a_key_but_not_its_own_is_refused(store_at: StoreAt, store: Store) -> None:
    services = services_for(store_at, store)
    issued = store.ledger.issue_key("desk", Role.READER, ACTOR)
    assert refused(services, issued.secret[:-1] + ("A" if issued.secret[-1] != "A" else "B"))
    assert refused(services, f"clk_{uuid4().hex}_whatever")
