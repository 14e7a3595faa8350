"""gunicorn's settings for povertyexit (gunicorn reads ./gunicorn.conf.py by itself; the
Dockerfile names it anyway). Command-line options still win: ``--bind``, ``--workers``.

Sized for the CPU, behind a buffering reverse proxy (deploy/nginx.conf) that holds the
people and their slow connections; see README, 生产部署 → gunicorn 的进程与线程.
Measured with bench/bench_load.py (locust, 50 users with 1–3 s think time, 300,000
households, 2 cores shared by PostgreSQL, nginx and locust): see the numbers below.

Every value can be overridden from the environment without editing this file:
``WEB_CONCURRENCY`` (workers), ``GUNICORN_THREADS``, ``GUNICORN_BIND``,
``GUNICORN_TIMEOUT``, ``GUNICORN_KEEPALIVE``, ``GUNICORN_MAX_REQUESTS``.
"""

import os


def _cores() -> int:
    # The CPUs this process may run on (a container's cpuset), not all the host's.
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")

# Workers and threads. A request here is mostly Python (ORM, templates: CPU under the
# GIL) with a wait on PostgreSQL in between, so: one process per core, plus one to
# use a core while another process waits on the database, and a few threads per
# process to overlap those waits. More processes than that only make them take turns
# on the same cores (and each holds its own database connections and ~100 MB).
# Measured on 2 cores at 50 users, behind nginx (bench/bench_load.py, 30 s per run,
# the machine was shared with other test runs, load average 5–14, so compare
# runs of one round, not across rounds). req/s, p95, p99 of two runs each:
#   workers × threads   round 1 (load 7–12)            round 2 (load 5–14)
#   3 × 4 gthread       14–19 req/s, 2.2–2.8 s, 2.7–3.9 s   20–23 req/s, 0.9–1.6 s, 1.3–2.1 s
#   3 × 8 gthread                                      22–24 req/s, 1.1–1.4 s, 1.9–2.1 s
#   2 × 4 gthread       14–18 req/s, 2.3–3.6 s, 3.0–4.7 s   20–21 req/s, 1.3–1.6 s, 1.9–2.4 s
#   4 × 2 gthread       11–14 req/s, 4.3 s,     6.0–6.8 s   18 req/s,    2.0–2.1 s, 2.3–2.8 s
#   5 × 2 gthread       11–15 req/s, 3.6–4.9 s, 4.9–7.7 s
#   3 × 2 gthread       13 req/s,    4.1–4.5 s, 4.9–6.1 s
#   5 sync (2 × cores + 1, gunicorn's rule for sync workers)
#                       12–14 req/s, 3.8–4.5 s, 5.1–6.4 s
# Few threads leave requests waiting in front of idle CPU while others wait on SQL;
# 8 threads did no better than 4 and hold twice the database connections. The full
# benchmark with this default, at a quieter moment (load average 1–4.6): 25 req/s,
# p50 0.14 s, p95 0.70 s, p99 0.97 s, no error (BENCHMARKS.md).
workers = _int("WEB_CONCURRENCY", _cores() + 1)
worker_class = "gthread"
threads = _int("GUNICORN_THREADS", 4)

# Connections: how many one worker holds at once, kept-alive ones included (nginx keeps
# up to 32 idle ones, deploy/nginx.conf). The listen backlog is the kernel's queue for
# connections no worker has accepted yet; it is capped by net.core.somaxconn.
worker_connections = 1000
backlog = 2048

# Keep-alive: longer than the proxy's idle upstream timeout (60 s), so the proxy always
# closes first and never sends a request on a connection gunicorn is closing. The
# default, 2 s, is shorter than the pause between two clicks: a client reusing its
# connection then races gunicorn's close. Measured with clients straight on gunicorn
# (BENCH_LOAD_PROXY=0, 50 users, 30 s): 3 "connection reset by peer" with 2 s, none
# with 75 s.
keepalive = _int("GUNICORN_KEEPALIVE", 75)

# A worker silent this long is killed and replaced: an Excel import checked in the
# request (≤ 4 MB unpacked) or a county ledger takes well under a minute.
timeout = _int("GUNICORN_TIMEOUT", 120)
# On SIGTERM (a deploy, `docker stop`): requests in progress get this long to finish.
graceful_timeout = 30

# Each worker is replaced after about this many requests (jitter: not all at once), so
# memory that Python does not give back cannot grow for ever.
max_requests = _int("GUNICORN_MAX_REQUESTS", 5000)
max_requests_jitter = max_requests // 10

# The proxy logs every request; gunicorn logs its own events and errors on stderr. The
# proxy's X-Forwarded-* headers are read by Django (SECURE_PROXY_SSL_HEADER,
# core/netaddr.py), whatever gunicorn's forwarded_allow_ips says. No preload_app: each
# worker loads the application after the fork, so no database connection or thread is
# ever shared between processes.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
