"""Run the whole product on one machine: web, Celery worker, Celery beat and the traffic generator.

Ctrl-C stops every process. The embedded default needs nothing but Python: SQLite under var/ and
kombu's filesystem broker (see settings.py).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


def _raise_keyboard_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


class Command(BaseCommand):
    help = "Migrate, create the demo data, then run web + worker + beat + traffic generator until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument(
            "--rate",
            type=float,
            default=0.3,
            help="Generated customer posts per second.",
        )
        parser.add_argument(
            "--no-traffic",
            action="store_true",
            help="Do not start the traffic generator.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        call_command("setupdemo")
        port = options["port"]
        python = sys.executable
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "X_API_BASE_URL": os.environ.get("X_API_BASE_URL", f"{base}/xsandbox"),
        }
        commands = {
            "web": [
                python,
                "manage.py",
                "runserver",
                f"127.0.0.1:{port}",
                "--noreload",
            ],
            "worker": [
                python,
                "-m",
                "celery",
                "-A",
                "helpdesk",
                "worker",
                "-Q",
                "poll,delivery,sla,default",
                "--concurrency",
                "2",
                "--loglevel",
                "INFO",
            ],
            "beat": [
                python,
                "-m",
                "celery",
                "-A",
                "helpdesk",
                "beat",
                "--loglevel",
                "INFO",
            ],
        }
        if not options["no_traffic"]:
            commands["traffic"] = [
                python,
                "manage.py",
                "sandboxtraffic",
                "--brand",
                "EarshotDemo",
                "--rate",
                str(options["rate"]),
                "--burst-every",
                "90",
                "--burst-size",
                "12",
            ]
        # `kill`, a closed terminal or a supervisor's SIGTERM stop the children too, as Ctrl-C does.
        signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        signal.signal(signal.SIGHUP, _raise_keyboard_interrupt)
        processes = {
            name: subprocess.Popen(cmd, env=env)  # noqa: S603 - our own fixed commands
            for name, cmd in commands.items()
        }
        self.stdout.write(
            self.style.SUCCESS(
                f"\nEarshot is running at {base}/  (Ctrl-C stops everything)"
            )
        )
        self.stdout.write(
            "Log in with the users printed above; the queue fills within a minute.\n"
        )
        try:
            while all(p.poll() is None for p in processes.values()):
                time.sleep(0.5)
            failed = [name for name, p in processes.items() if p.poll() is not None]
            self.stderr.write(f"{', '.join(failed)} exited; stopping the demo.")
        except KeyboardInterrupt:
            self.stdout.write("\nStopping...")
        finally:
            for p in processes.values():
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            for p in processes.values():
                try:
                    p.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    p.kill()
