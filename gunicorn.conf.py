"""gunicorn configuration of Caléol: `gunicorn -c gunicorn.conf.py webapp.wsgi:app` (or `caleol serve --production`).

Every setting can be changed by the environment without editing this file:

| variable             | default                          | what                                             |
|----------------------|----------------------------------|--------------------------------------------------|
| CALEOL_BIND          | 127.0.0.1:8000                   | address (behind the HTTPS reverse proxy)          |
| CALEOL_WORKERS       | number of usable CPU cores       | worker processes                                  |
| CALEOL_THREADS       | 4                                | threads per worker (gthread)                      |
| CALEOL_TIMEOUT       | 60                               | seconds before a silent worker is killed         |
| CALEOL_ACCESS_LOG    | (none)                           | any value: gunicorn's access lines too (the app already writes one line per request) |
| CALEOL_LOG_FORMAT    | texte                            | `json`: one JSON object per line                 |
| CALEOL_LOG_LEVEL     | INFO                             |                                                   |
| CALEOL_MAX_REQUESTS  | 0 (never)                        | recycle a worker after that many requests         |
| CALEOL_CONTROL_SOCKET| (none: disabled)                 | path of gunicorn's control socket (gunicornc)     |
| CALEOL_WORKER_TMP_DIR| /dev/shm if present              | directory of the workers' heartbeat files         |

Workers: one per core, not gunicorn's generic 2 × cores + 1. The expensive part of a request is CPU
work in Python (rule evaluation, page rendering) under the GIL, so more processes than cores only
queue on the CPU, and each worker holds its own compiled rulebook (durable_rules host, caches):
measured after warm-up, about 93 MB resident per worker, of which about 61 MB private (the rest is
shared with the master by copy-on-write; /proc/PID/smaps_rollup, 2 workers, empty database). Waits on PostgreSQL are covered by the threads of each worker (gthread),
not by extra processes.

Preload: the application (configuration, database engine, blueprints) is imported once in the
master, then forked. The durable_rules evaluator is *not* built in the master: each worker builds
its own after the fork (`post_worker_init` → webapp.sante.preparer_moteur, with one warm-up
evaluation), so no durable_rules state or lock is shared across a fork (../shared/DURABLE_RULES.md
§3.4), and the database connections of the master are dropped in the workers (`post_fork`).
"""
from __future__ import annotations

import logging
import os
import sys


def _entier(nom: str, defaut: int) -> int:
    valeur = os.environ.get(nom)
    if not valeur:
        return defaut
    try:
        nombre = int(valeur)
    except ValueError:
        raise SystemExit(f"{nom} : nombre entier attendu (reçu « {valeur} »).") from None
    if nombre < 0:
        raise SystemExit(f"{nom} : nombre positif attendu (reçu « {valeur} »).")
    return nombre


def coeurs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


bind = os.environ.get("CALEOL_BIND", "127.0.0.1:8000")
workers = _entier("CALEOL_WORKERS", 0) or coeurs()
worker_class = "gthread"
threads = _entier("CALEOL_THREADS", 4) or 1
preload_app = True
timeout = _entier("CALEOL_TIMEOUT", 60)
graceful_timeout = 30
keepalive = 5
max_requests = _entier("CALEOL_MAX_REQUESTS", 0)
# Each worker's main loop tells the master it is alive by changing the times of a file, on every turn
# (every request on a kept-alive connection goes through that loop). In a directory on disk that is a
# file-system metadata write each time; in memory (tmpfs) it is not, as gunicorn's documentation advises:
# measured with bench/w3_charge.py (1 client, API), worker CPU per request 4.7-5.3 → 3.5-3.8 ms.
worker_tmp_dir = os.environ.get("CALEOL_WORKER_TMP_DIR") or ("/dev/shm" if os.path.isdir("/dev/shm") else None)
max_requests_jitter = max_requests // 10
proc_name = "caleol"
# gunicorn's control socket has one default path per user: two servers on one machine (tests, a
# benchmark) would fight over it. Off unless a path is given.
if os.environ.get("CALEOL_CONTROL_SOCKET"):
    control_socket = os.environ["CALEOL_CONTROL_SOCKET"]
control_socket_disable = not os.environ.get("CALEOL_CONTROL_SOCKET")

# Logs: the application writes one line per request (webapp.journalisation: request id, route
# pattern, status, duration, user id). gunicorn's own access log is off unless CALEOL_ACCESS_LOG is
# set; its format then leaves out the query string (%(U)s is the path alone), the referer and the
# user agent, and the path is masked like the application's (/demandes/… hides the numéro unique).
accesslog = "-" if os.environ.get("CALEOL_ACCESS_LOG") else None
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms id=%({x-request-id}o)s'
errorlog = "-"
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from webapp import journalisation  # noqa: E402

logconfig_dict = journalisation.configuration(acces_gunicorn=accesslog is not None)

from gunicorn.glogging import Logger as _JournalGunicorn  # noqa: E402


class JournalGunicorn(_JournalGunicorn):
    """gunicorn's logger, without building an access line that its logger would drop: with a
    `logconfig_dict`, gunicorn gathers every request's atoms (headers, date, sizes) and then logs them
    on `gunicorn.access`, set to WARNING unless CALEOL_ACCESS_LOG (≈ 2 % of a worker's CPU on the API).
    When the line is wanted, it is gunicorn's own."""

    def access(self, resp, req, environ, request_time) -> None:
        if self.access_log.isEnabledFor(logging.INFO):
            super().access(resp, req, environ, request_time)


logger_class = JournalGunicorn


def when_ready(server) -> None:
    """Master, application loaded: close the connections it opened (the rulebook version record)."""
    module = sys.modules.get("webapp.wsgi")
    if module is not None:
        module.app.extensions["caleol.engine"].dispose()


def post_fork(server, worker) -> None:
    """Worker, just forked: never reuse a database connection of the master."""
    module = sys.modules.get("webapp.wsgi")
    if module is not None:
        module.app.extensions["caleol.engine"].dispose(close=False)


def post_worker_init(worker) -> None:
    """Worker, application ready: compile the rulebook in force today and warm it up, once."""
    from webapp.sante import preparer_moteur

    etat = preparer_moteur()
    worker.log.info("Référentiel %s prêt (processus %s, %.3f s).", etat["version_regles"], os.getpid(),
                    etat["prepare_en_s"])
