"""The CLI's part in keeping the log honest (§6, decision 0013): `rebuild` replays every
view from position 0 without laundering an edit (`projections.verify.sealed_rebuild`), and a
`verify` that passes records its head and clears the write alarm."""

from __future__ import annotations

from rich.console import Console
from rich.progress import Progress

from api.remote_verify import VerifyFailed
from api.services import Services
from domain.errors import StoreDisagreesWithLog
from projections.log.signing import TreeHead
from projections.storage.signed_heads import record_signed
from projections.verify import Divergence, SealedLog, check_before_rebuild


def rebuild_views(services: Services, console: Console, errors: Console) -> None:
    """`rebuild_checked`, and what it says: the position rebuilt, or one line naming why it
    refused (then exit status 1)."""
    refused = rebuild_checked(services, console)
    if refused is not None:
        errors.print(f"claimledger rebuild: REFUSED: {refused}", highlight=False, markup=False)
        raise SystemExit(1)
    console.print(f"rebuilt the views up to position {services.store.views.position()}")


def rebuild_checked(services: Services, console: Console) -> str | None:
    """Check every stored event against the log being replaced and the signed heads, then
    replace the views; the one-line reason it refused (views untouched), or None."""
    store = services.store
    sealed = SealedLog(store.views)
    sealed.create()
    total = store.ledger.max_position()
    with Progress(console=console) as progress:
        task = progress.add_task("checking every event against its sealed leaf", total=total)
        checked = check_before_rebuild(
            store.ledger,
            sealed,
            store.signed_heads.recorded(),
            lambda n: progress.advance(task, n),
        )
        if isinstance(checked, Divergence):
            return refused(services, checked.message, "the views are untouched")
        # The head of the log about to be replaced, recorded: a rebuild killed midway and
        # run again is checked against it even if the views are lost meanwhile.
        head = services.signer.sign(checked.events, checked.root_hash)
        record_signed(store.signed_heads, store.alarm, head)
        sealed.seal_and_clear()
        store.runner = type(store.runner)(store.ledger, store.views)
        task = progress.add_task("replaying events", total=total or None)
        store.runner.catch_up(lambda n: progress.advance(task, n))
    changed = sealed.first_unequal()
    if changed is not None:  # an event edited while the rebuild ran
        return refused(services, changed.message, "the sealed leaves are kept")
    sealed.forget_kept()
    return None


def refused(services: Services, reason: str, kept: str) -> str:
    """The write alarm raised, and the line that says why."""
    services.store.alarm.raise_(reason)
    return f"{reason} ({kept}; writes are refused until `claimledger verify` passes)"


def after_verify(services: Services, head: TreeHead) -> str | None:
    """Record the head `verify` signed (`VerifyFailed` if its size was signed before with
    another root) and clear the write alarm, once every stored event is shown to give every
    head ever signed: the reason it had (None if it was not raised)."""
    store = services.store
    try:
        record_signed(store.signed_heads, store.alarm, head)
    except StoreDisagreesWithLog as error:
        raise VerifyFailed(error.reason) from None
    if store.alarm.reason() is None:
        return None
    # Before the alarm is cleared, every head ever signed too: it may have been raised by
    # a root that changed for another size than this one.
    sealed = SealedLog(store.views)
    sealed.create()
    checked = check_before_rebuild(store.ledger, sealed, store.signed_heads.recorded())
    if isinstance(checked, Divergence):
        raise VerifyFailed(checked.message)
    return store.alarm.clear()
