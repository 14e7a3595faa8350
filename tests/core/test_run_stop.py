"""Ctrl-C on `make run` stops the web server, the worker and beat once and cleanly.

The test starts what `make run` starts after its setup (`manage.py runall HOST:PORT`) on
a fresh SQLite database and filesystem broker, and presses Ctrl-C the way a terminal
does: SIGINT to the supervisor's whole process group. A task is running at that moment;
the worker must let it finish (warm shutdown) instead of cutting it short.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# Starting takes a few seconds; stopping waits for the filesystem broker's poll loop.
START_TIMEOUT = 60
STOP_TIMEOUT = 30
TASK_SECONDS = 4


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def processes():
    """Linux: {pid: (state, ppid)} of every process."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text(errors="replace")
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            found[int(entry.name)] = (fields[0], int(fields[1]))
    return found


def descendants(pid):
    table = processes()
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, (_state, ppid) in table.items() if ppid in frontier} - found
        found |= frontier
    return found


def alive(pids):
    table = processes()
    return {pid for pid in pids if pid in table and table[pid][0] != "Z"}


def wait_until(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what} not within {timeout} s"
        time.sleep(0.2)


def answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_it_stops_web_worker_and_beat_once_and_lets_the_running_task_finish(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CELERY_BROKER_URL", "DJANGO_ENV")}
    env.update(
        POVERTYEXIT_DATA_DIR=str(tmp_path / "data"),
        DJANGO_SETTINGS_MODULE="tests.core.runall_settings",
        PYTHONUNBUFFERED="1",
    )
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput"], env=env, cwd=ROOT, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "runall.log"
    with log.open("w") as out:
        supervisor = subprocess.Popen(
            [*manage, "runall", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group, as `make run` has in a terminal: the "Ctrl-C" below
            # goes to that group, not to pytest.
            start_new_session=True,
        )
    children = set()
    try:
        wait_until(lambda: answers(f"http://127.0.0.1:{port}/accounts/login/"), START_TIMEOUT, "the login page")
        task_folder = tmp_path / "task"
        task_folder.mkdir()
        args = [str(task_folder), TASK_SECONDS]
        send = f"from povertyexit.celery import app; app.send_task('tests.slow_task', args={args!r})"
        subprocess.run([sys.executable, "-c", send], env=env, cwd=ROOT, check=True)
        wait_until((task_folder / "started").exists, START_TIMEOUT, "the task's start")
        # runserver's reloader and its server, the worker and its beat process.
        children = descendants(supervisor.pid)
        assert len(children) >= 4, log.read_text()

        pressed = time.monotonic()
        os.killpg(supervisor.pid, signal.SIGINT)
        returncode = supervisor.wait(timeout=STOP_TIMEOUT)
        stopped_in = time.monotonic() - pressed
    finally:
        if supervisor.poll() is None:
            supervisor.kill()
        for pid in alive(children):
            os.kill(pid, signal.SIGKILL)

    output = log.read_text()
    assert returncode in (0, 130), output
    # The address and the demo accounts come once, after the worker's start-up lines
    # (they would scroll away above them otherwise).
    banner = f"==> http://127.0.0.1:{port}/"
    assert output.count(banner) == 1, output
    assert output.index(banner) > output.index(" ready."), output
    assert "演示账号" in output[output.index(banner) :], output  # (or 尚未生成演示账号: none seeded here)
    for alarming in ("Traceback", "Segmentation fault", "Cold shutdown", "Error"):
        assert alarming not in output, output
    assert output.count("Warm shutdown") == 1, output
    # The task ran to its end although Ctrl-C came while it slept.
    assert (task_folder / "finished").exists(), output
    assert "Task tests.slow_task[" in output and "succeeded" in output, output
    assert stopped_in < STOP_TIMEOUT
    # Nothing left behind (the exit of a process is checked, not only of its group).
    assert alive(children) == set(), output
    assert not answers(f"http://127.0.0.1:{port}/accounts/login/")
