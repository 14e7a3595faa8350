"""`make run`'s last step: the development web server and a Celery worker with beat,
stopped together, once, by one Ctrl-C.

Each child runs in a session (and process group) of its own, so the terminal's Ctrl-C
reaches this supervisor only; the supervisor then asks each child once, in the way
that child stops cleanly:

- the worker's group gets SIGTERM: Celery's warm shutdown, the running task finishes
  (SIGINT would be Celery's "press again for cold shutdown" path);
- runserver's group gets SIGINT, as from a terminal: its autoreloader is a parent
  process with the server as its child, and both stop quietly on a KeyboardInterrupt.

A further Ctrl-C while waiting kills both groups (exit code 130). A child that exits
on its own stops the other, and the supervisor exits with 1.

Once the web server answers and the worker says it is ready (its ``worker_ready``
handler touches the file named by ``POVERTYEXIT_READY_FILE``), the supervisor prints the
address and the demo accounts: after the worker's start-up lines, so they are the last
thing on the screen (or after ``BANNER_TIMEOUT`` seconds, whichever comes first).
"""

import contextlib
import io
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass, field
from subprocess import Popen

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
POLL_SECONDS = 0.2
LEFTOVER_GRACE_SECONDS = 5
BANNER_TIMEOUT = 60
READY_FILE_ENV = "POVERTYEXIT_READY_FILE"


@dataclass
class Child:
    name: str
    argv: list[str]
    # How this child is asked to stop (sent to its whole process group).
    stop_signal: signal.Signals
    env: dict | None = None
    process: Popen | None = field(default=None, repr=False)

    def start(self):
        # A session of its own: no controlling terminal, so no Ctrl-C from it.
        self.process = Popen(self.argv, start_new_session=True, env=self.env)

    @property
    def returncode(self):
        return self.process.poll()

    def signal_group(self, sig):
        with contextlib.suppress(ProcessLookupError):  # the whole group is gone already
            os.killpg(self.process.pid, sig)

    def group_alive(self):
        """Whether a process of this child's group still runs (zombies are dead)."""
        if os.path.isdir("/proc/self"):
            # Celery's beat process stays a zombie until init reaps it, which can take a
            # while; kill(0) would count it as alive.
            return any(state != "Z" for state in _states_in_group(self.process.pid))
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True


def _states_in_group(pgid):
    """Linux: the state letter of each process in process group ``pgid``."""
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as stat:
                # "pid (comm) state ppid pgrp ..."; comm may hold spaces and parentheses.
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        if int(fields[2]) == pgid:
            yield fields[0]


def describe(returncode):
    if returncode is None:
        return "running"
    if returncode < 0:
        return f"signal {signal.Signals(-returncode).name}"
    return f"exit code {returncode}"


class Command(BaseCommand):
    help = "Run the development server together with a Celery worker and beat; Ctrl-C stops all of them cleanly."
    requires_system_checks = []  # runserver and the worker run the checks themselves

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000", help="runserver's address:port")
        parser.add_argument("--loglevel", default="INFO", help="the Celery worker's log level")

    def handle(self, *args, addrport, loglevel, **options):
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        self.addrport = addrport
        self.ready_file = settings.DATA_DIR / "worker.ready"
        self.ready_file.unlink(missing_ok=True)
        self.started_at = time.monotonic()
        self.bannered = False
        self.children = [
            Child(
                "Celery worker + beat",
                [
                    *(python, "-m", "celery", "-A", "povertyexit", "worker", "--beat", "--pool", "solo"),
                    *("--loglevel", loglevel, "--schedule", str(settings.DATA_DIR / "celerybeat-schedule")),
                ],
                stop_signal=signal.SIGTERM,
                env={**os.environ, READY_FILE_ENV: str(self.ready_file)},
            ),
            Child("web (runserver)", [python, manage, "runserver", addrport], stop_signal=signal.SIGINT),
        ]
        self.requests = 0  # stop signals received from the terminal (or a service manager)
        self.asked_at = None  # self.requests when the children were asked to stop
        self.forced = False
        # Before the children start: a handled signal is reset to the default in a child,
        # an ignored one (`make run &`, nohup) would stay ignored and runserver would not
        # hear its SIGINT.
        previous = {sig: signal.signal(sig, self.on_stop_signal) for sig in STOP_SIGNALS}
        try:
            return self.supervise()
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def on_stop_signal(self, signum, frame):
        # Only count here; the loop in supervise() acts, outside the signal handler.
        self.requests += 1

    def say(self, line, *, error=False):
        stream = self.stderr if error else self.stdout
        try:
            stream.write(line)
            stream.flush()
        except OSError:
            pass  # the terminal is gone (SIGHUP): stopping the children matters more

    def supervise(self):
        for child in self.children:
            child.start()
        died = None  # the child that exited without being asked to
        while any(child.returncode is None for child in self.children):
            if self.asked_at is None:
                died = next((child for child in self.children if child.returncode is not None), None)
                if died is not None:
                    self.say(
                        f"{died.name} 意外退出（{describe(died.returncode)}），正在停止其余进程 / "
                        f"{died.name} exited unexpectedly ({describe(died.returncode)}), stopping the rest",
                        error=True,
                    )
                if died is not None or self.requests:
                    self.stop()
                elif not self.bannered and (self.ready() or time.monotonic() - self.started_at > BANNER_TIMEOUT):
                    self.banner()
            elif self.requests > self.asked_at and not self.forced:
                self.force()
            time.sleep(POLL_SECONDS)

        for child in self.children:
            # A process can outlive the child that started it (runserver's server when its
            # autoreloader was killed); one still running after the grace would hold the
            # port or the broker.
            deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS
            while child.group_alive() and time.monotonic() < deadline:
                time.sleep(0.05)
            if child.group_alive():
                self.say(f"清理 {child.name} 的残留进程 / killing what is left of {child.name}")
                child.signal_group(signal.SIGKILL)

        if died is not None:
            raise CommandError(f"{died.name}: {describe(died.returncode)}", returncode=1)
        if self.forced:
            raise CommandError("已强制停止 / stopped by force", returncode=130)
        unclean = [c for c in self.children if c.returncode not in (0, -c.stop_signal)]
        if unclean:
            raise CommandError(
                "；".join(f"{c.name}: {describe(c.returncode)}" for c in unclean) + " / did not stop cleanly",
                returncode=1,
            )
        self.say("已停止 / stopped.")

    def web_address(self) -> tuple[str, int]:
        host, _sep, port = self.addrport.rpartition(":")
        host = host.strip("[]")
        return (host if host not in ("", "0.0.0.0", "::") else "127.0.0.1"), int(port)

    def ready(self) -> bool:
        """The worker said it is ready and the web server takes connections."""
        if not self.ready_file.exists():
            return False
        try:
            with socket.create_connection(self.web_address(), timeout=0.5):
                return True
        except OSError:
            return False

    def banner(self):
        self.bannered = True
        host, port = self.web_address()
        accounts = io.StringIO()
        call_command("show_demo_accounts", stdout=accounts)
        self.say(
            f"\n==> http://{host}:{port}/  （Ctrl-C 停止 web、Celery worker 与 beat / Ctrl-C stops all three）\n"
            + accounts.getvalue().rstrip("\n")
        )

    def stop(self):
        """Ask each child once to stop cleanly."""
        self.asked_at = self.requests
        self.say(
            "\n正在停止 web、Celery worker 与 beat（等待正在运行的任务完成，再按一次 Ctrl-C 强制停止）… / "
            "Stopping web, Celery worker and beat (waiting for the running task; Ctrl-C again to force)…"
        )
        for child in self.children:
            # The whole group, even when its first process is gone: runserver's server
            # process outlives a killed autoreloader.
            child.signal_group(child.stop_signal)

    def force(self):
        self.forced = True
        self.say("\n强制停止：正在运行的任务被中断 / Forcing the stop: the running task is cut short.")
        for child in self.children:
            child.signal_group(signal.SIGKILL)
