"""Handing work to the Celery broker from a request.

A page or API call that starts background work calls ``send`` after the rows it needs
are committed. When the broker cannot take the message (Redis down, unreachable) the
caller gets ``BrokerUnavailable`` within seconds, undoes what it prepared, and answers
503 with the exception's message — never a 500 and never a job left waiting for a
message that was not sent.
"""

from __future__ import annotations

import logging

from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as KombuOperationalError

logger = logging.getLogger(__name__)

# What a publish raises when the broker is down: kombu wraps the transport's connection
# errors; a few transports let a plain socket error through.
BROKER_ERRORS = (KombuOperationalError, ConnectionError, TimeoutError, OSError)


class BrokerUnavailable(Exception):
    """The broker could not take the task; ``message`` tells the user what to do."""

    def __init__(self, message: str = ""):
        self.message = message or _(
            "后台任务服务暂时不可用，请稍后再试；如持续出现，请联系系统管理员检查任务队列（Redis）。"
        )
        super().__init__(self.message)


def send(task, *args, **kwargs) -> None:
    """``task.delay(*args, **kwargs)``, raising ``BrokerUnavailable`` when the broker is down."""
    try:
        task.delay(*args, **kwargs)
    except BROKER_ERRORS as error:
        logger.error("broker unavailable: could not send %s%r: %s", task.name, args, error)
        raise BrokerUnavailable() from error
