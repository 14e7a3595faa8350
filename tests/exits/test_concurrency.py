"""Twenty county officials approve the same case at the same moment (PostgreSQL): exactly
one approval is recorded, with one history entry, and the nineteen others get a
conflict and write nothing (issue 5 acceptance)."""

import threading

import pytest
from django.db import connection, connections

from exits import services
from exits.models import Step, StepRecord

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="needs PostgreSQL: SQLite serialises writers, so there is no race to lose "
        "(run with DATABASE_URL=postgres://…)",
    ),
]

APPROVERS = 20


def approve_all_at_once(case, by, *, all_checked_first: bool, monkeypatch) -> list:
    """Each thread, on its own connection, calls step_complete(step=6) once the barrier
    lets them all go. With ``all_checked_first`` a second barrier holds every thread
    after its checks (the case read at step 6, every rule passed) until all twenty have
    got there: the worst case, where all of them race for the write."""
    start = threading.Barrier(APPROVERS, timeout=60)
    if all_checked_first:
        checked = threading.Barrier(APPROVERS, timeout=60)
        original = services.clean_step_data

        def clean_then_wait(*args, **kwargs):
            cleaned = original(*args, **kwargs)
            checked.wait()
            return cleaned

        monkeypatch.setattr(services, "clean_step_data", clean_then_wait)

    results: list = [None] * APPROVERS

    def approve(index: int) -> None:
        try:
            start.wait()
            results[index] = services.step_complete(by=by, case=case, step=Step.APPROVE, data={"opinion": "批准退出"})
        except Exception as error:  # every outcome is asserted by the test
            results[index] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=approve, args=(i,)) for i in range(APPROVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an approval thread hung"
    return results


def assert_one_approval(case, carol) -> None:
    case.refresh_from_db()
    assert case.current_step == Step.ARCHIVE
    assert StepRecord.objects.filter(case=case, step=Step.APPROVE, is_reset=False).count() == 1
    assert StepRecord.objects.filter(case=case, step=Step.APPROVE).count() == 1
    approvals = case.history.filter(history_change_reason__contains="核查批准")
    assert approvals.count() == 1
    assert approvals.get().history_user == carol


def test_twenty_simultaneous_approvals_record_one_and_nineteen_conflicts(flow, carol, monkeypatch):
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)
    assert services.approval_refusals(case) == []
    version = case.version

    results = approve_all_at_once(case, carol, all_checked_first=True, monkeypatch=monkeypatch)

    wins = [r for r in results if isinstance(r, StepRecord)]
    conflicts = [r for r in results if isinstance(r, services.ExitConflict)]
    assert len(wins) == 1, results
    assert len(conflicts) == APPROVERS - 1, results
    assert {c.message for c in conflicts} == {"第6步“核查批准”刚被他人办理，您的操作未保存。请刷新页面查看最新状态。"}
    assert_one_approval(case, carol)
    case.refresh_from_db()
    assert case.version == version + 1


def test_twenty_approvals_released_together_still_record_exactly_one(flow, carol, monkeypatch):
    """Without holding anyone back: whoever reads the case after the winner committed is
    refused by the order rule instead of a conflict, but never records a second approval."""
    case = flow.enrol()
    flow.bring_to(case, Step.APPROVE)

    results = approve_all_at_once(case, carol, all_checked_first=False, monkeypatch=monkeypatch)

    assert sum(isinstance(r, StepRecord) for r in results) == 1, results
    late = "当前应完成第7步“资料备案”，不能办理第6步。"
    for result in results:
        assert isinstance(result, StepRecord | services.ExitConflict) or (
            isinstance(result, services.ExitError) and result.messages == [late]
        ), result
    assert_one_approval(case, carol)
