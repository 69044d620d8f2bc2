"""R-37 "after a major change": a change of the account's public face (name,
handle and address, profile picture, about text, owner) is recorded by the
account's admins or the communications unit as ProfileChanged, a major
change in domain.snapshot's sense, so the account's case snapshots it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from domain import snapshot as snap
from domain.account import (
    NotAuthorised,
    ProfileChanged,
    RecordProfileChange,
    RuleViolation,
    Stage,
    WrongStage,
    may_record_profile_change,
    parse_event,
)
from tests.domain.conftest import (
    ADMIN_2,
    COMMS,
    DEPUTY,
    MANAGER,
    REGISTRAR,
    REQUESTER,
    STRANGER,
    T0,
    Journey,
)

Walk = Callable[..., Journey]


def test_r37_a_profile_change_is_a_major_change() -> None:
    assert snap.major_change_reason("ProfileChanged") == "profile-changed"


@pytest.mark.parametrize("who", [REQUESTER, ADMIN_2, COMMS[0], COMMS[1]])
def test_r37_admins_and_communications_record_a_rename(walk: Walk, who: str) -> None:
    journey = walk(Stage.ACTIVE)
    assert journey.current.name == "Kulturhuset Ängen"
    [event] = journey.do(RecordProfileChange(actor=who, name="Kulturhuset Ängen & Biblioteket",
                                             note="Biblioteket flyttade in"))
    assert isinstance(event, ProfileChanged)
    assert (event.name, event.actor, event.at, event.note) == (
        "Kulturhuset Ängen & Biblioteket", who, T0, "Biblioteket flyttade in")
    assert event.previous == {"name": "Kulturhuset Ängen"}
    assert event.handle is None and event.url is None and not event.picture_changed
    state = journey.current
    assert state.name == state.profile_name == "Kulturhuset Ängen & Biblioteket"
    assert state.request.account_name == "Kulturhuset Ängen"  # the request stays as made
    assert state.slug == "kulturhuset-angen-facebook"  # the case keeps its name (workflow id)
    assert state.profile_changed_at == T0


@pytest.mark.parametrize("who", [MANAGER, DEPUTY, REGISTRAR, STRANGER])
def test_r37_others_may_not_record_a_profile_change(walk: Walk, who: str) -> None:
    journey = walk(Stage.ACTIVE)
    assert not may_record_profile_change(journey.current, who)
    with pytest.raises(NotAuthorised) as refused:
        journey.decide(RecordProfileChange(actor=who, picture_changed=True))
    assert refused.value.key == "profile.who"


def test_r37_a_new_handle_address_and_about_text_replace_the_old(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    [event] = journey.do(RecordProfileChange(
        actor=REQUESTER, handle="angenkultur", url="https://www.facebook.com/angenkultur",
        about="Kulturhuset Ängen – Exempelby kommun. Vi svarar vardagar 8–16.",
        picture_changed=True))
    assert isinstance(event, ProfileChanged)
    assert event.previous == {"about": None, "handle": "kulturhusetangen",
                              "url": "https://www.facebook.com/kulturhusetangen"}
    state = journey.current
    assert (state.handle, state.url) == ("angenkultur", "https://www.facebook.com/angenkultur")
    assert state.profile_about and state.profile_about.startswith("Kulturhuset Ängen –")
    assert parse_event(event.model_dump(mode="json")) == event


def test_r37_only_what_differs_is_recorded_as_changed(walk: Walk) -> None:
    """The same handle again with a new picture: the picture changed, the handle did not."""
    journey = walk(Stage.ACTIVE)
    [event] = journey.do(RecordProfileChange(actor=REQUESTER, handle="kulturhusetangen",
                                             picture_changed=True))
    assert isinstance(event, ProfileChanged)
    assert event.handle is None and event.picture_changed and event.previous == {}


@pytest.mark.parametrize("command", [
    RecordProfileChange(actor=REQUESTER),
    RecordProfileChange(actor=REQUESTER, note="Bara en anteckning"),
    RecordProfileChange(actor=REQUESTER, name="Kulturhuset Ängen", handle="kulturhusetangen"),
])
def test_r37_a_change_that_changes_nothing_is_refused(walk: Walk,
                                                     command: RecordProfileChange) -> None:
    with pytest.raises(RuleViolation) as refused:
        walk(Stage.ACTIVE).decide(command)
    assert refused.value.key == "profile.nothing"


def test_r03_r37_a_new_owner_is_recorded_by_the_communications_unit(walk: Walk) -> None:
    journey = walk(Stage.ACTIVE)
    with pytest.raises(NotAuthorised) as refused:
        journey.decide(RecordProfileChange(actor=REQUESTER, platform_account_id="104000000009"))
    assert refused.value.key == "profile.owner_who"
    [event] = journey.do(RecordProfileChange(actor=COMMS[0], platform_account_id="104000000009",
                                             note="Sidan flyttad till kommunens Business "
                                                  "Manager"))
    assert isinstance(event, ProfileChanged)
    assert event.previous == {"platform_account_id": None}
    assert journey.current.platform_account_id == "104000000009"


@pytest.mark.parametrize("stage", [Stage.AWAITING_MANAGER, Stage.AWAITING_ACTIVATION,
                                   Stage.CLOSING, Stage.CLOSED])
def test_r37_only_an_active_account_has_a_profile_to_change(walk: Walk, stage: Stage) -> None:
    with pytest.raises(WrongStage):
        walk(stage).decide(RecordProfileChange(actor=COMMS[0], picture_changed=True))


@pytest.mark.parametrize("fields, where", [
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"handle": ""}, "handle"),
    ({"url": "http://www.facebook.com/angen"}, "url"),
    ({"about": ""}, "about"),
    ({"about": "x" * 4001}, "about"),
    ({"platform_account_id": "104 000"}, "platform_account_id"),
    ({"note": "x" * 4001}, "note"),
])
def test_r37_bad_input_is_refused_naming_the_field(fields: dict[str, str], where: str) -> None:
    with pytest.raises(ValidationError) as invalid:
        RecordProfileChange(actor=REQUESTER, **fields)  # type: ignore[arg-type]
    assert [e["loc"] for e in invalid.value.errors()] == [(where,)]
