"""Another process writing to the registry while a client synchronises (see test_sync.py).

Run as ``python -m tests.api.sync_writer <household id>...`` with ``DATABASE_URL`` naming
the test database: it registers, edits, exits and removes households of 栗安村 through
the real services, pausing between steps so the client's reads interleave with them.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, timedelta


def main(existing_ids: list[int]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings_test")
    django.setup()

    from assessments.exit_cases import exit_case_propose
    from demo.loader import LIAN
    from households.choices import MemberEventKind
    from households.models import Household
    from households.services import household_update, member_add, member_leave, member_update
    from households.workflow import household_transition
    from registry.models import User
    from tests import factories
    from tests.factories import advance, exit_through, make_applied, make_assessed, member_data
    from villages.models import Division

    # ID numbers of this process's people must not repeat those the test process made
    # (both count from their own sequence): people born here are born on the 17th.
    make_id_number = factories.make_id_number

    def born_on_the_17th(birth: str = "19800101", area: str = "431129", sex: str = "1") -> str:
        return make_id_number(birth=birth[:6] + "17", area=area, sex=sex)

    factories.make_id_number = born_on_the_17th

    users = {u.username: u for u in User.objects.all()}
    lian = Division.objects.get(pk=LIAN)
    pause = float(os.environ.get("SYNC_WRITER_PAUSE", "0.05"))
    today = date.today()

    def step():
        time.sleep(pause)

    existing = list(Household.objects.filter(pk__in=existing_ids).order_by("pk"))
    # Edits of households the client already has from its export.
    for household in existing[:2]:
        household_update(actor=None, household=household, changes={"housing_renovated": True})
        step()
    member = existing[2].members.order_by("id").last()
    member_update(actor=None, member=member, changes={"name": "更名"})
    step()
    member_leave(actor=None, member=member, kind=MemberEventKind.MOVE_OUT, event_date=today - timedelta(days=2))
    step()
    born = (today - timedelta(days=40)).replace(day=17)
    member_add(
        actor=None,
        household=existing[3],
        data=member_data(name="新生儿", relationship="grandchild", birth=f"{born:%Y%m%d}"),
        kind=MemberEventKind.BIRTH,
        event_date=born,
    )
    step()
    # Removal (清退) of a registered household.
    household_transition(actor=None, household=existing[4], action="remove", reason="错评：家庭收入超过标准")
    step()
    # New applications, some taken through identification.
    for index in range(4):
        household = make_applied(village=lian, persons=1 + index % 3, on_date=today - timedelta(days=31))
        step()
        if index % 2:
            advance(household, until="county_approve")
            step()
    # An exit, certified through the whole procedure by the officials.
    household, _assessment = make_assessed(village=lian)
    step()
    case = exit_case_propose(
        actor=users["team_lian"], household=household, year=2018, on_date=today - timedelta(days=21)
    )
    exit_through(case, users)
    step()
    # A natural decrease (自然减少) of an application.
    applied = make_applied(village=lian)
    household_transition(actor=None, household=applied, action="natural_decrease", reason="moved_out")


if __name__ == "__main__":
    main([int(arg) for arg in sys.argv[1:]])
