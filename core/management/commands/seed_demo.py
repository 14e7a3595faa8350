import json
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_ACCOUNTS, seed_accounts
from core.bulk import analyze
from dashboards.snapshots import snapshots_refresh
from exits.demo import seed_exit_cases
from exits.models import CriterionCheck, ExitCase, Objection, PriorExit, StepRecord
from households.demo import seed_households
from households.models import Household, HousingAppraisal, IncomeRecord, Member, WaterAssessment
from monitoring.demo import seed_monitoring
from monitoring.models import Finding, Measure, MonitoringCase, ResponsibleUnit
from notifications.models import Alert
from regions.models import Region
from regions.tallies import tallies_refresh

BAR_WIDTH = 30


class Command(BaseCommand):
    help = (
        "Create demo accounts (one per role) and realistic demo households. Writes the accounts "
        "to data/demo_accounts.json. Running it again resets the accounts and adds households."
    )

    def add_arguments(self, parser):
        parser.add_argument("--households", type=int, default=2000, help="number of households to add")
        parser.add_argument("--seed", type=int, default=2020, help="random seed (same seed, same data)")
        parser.add_argument("--chunk", type=int, default=5000, help="households per transaction")

    def handle(self, *args, households, seed, chunk, **options):
        if households < 0:
            raise CommandError("--households 不能为负数。")
        if not Region.objects.exists():
            call_command("load_regions", stdout=self.stdout)
        started = time.monotonic()
        accounts = seed_accounts()
        settings.DEMO_ACCOUNTS_FILE.write_text(json.dumps(accounts, ensure_ascii=False, indent=2), encoding="utf-8")
        villages = list(Region.objects.filter(level=Region.Level.VILLAGE).values_list("code", flat=True))
        favoured = [code for _u, _n, role, code, _s in DEMO_ACCOUNTS if code and len(code) == 12 and code in villages]

        bar = ProgressBar(self.stdout, total=households, started=started)
        result = seed_households(
            households=households, villages=villages, favoured=favoured, seed=seed, chunk=chunk, progress=bar.update
        )
        bar.finish()
        # The next stages query what was just loaded: give the planner its statistics
        # first, as autovacuum would on a production server (it may be off, or asleep).
        self.stdout.write("  正在更新统计信息（ANALYZE）…")
        analyze(Household, Member, IncomeRecord, HousingAppraisal, WaterAssessment)
        self.stdout.write("  正在生成退出案件…")
        exits = seed_exit_cases(seed=seed)
        analyze(ExitCase, CriterionCheck, StepRecord, Objection, PriorExit, Household)
        self.stdout.write(
            f"  已生成 {exits['cases']} 个本年度退出案件、{exits['history']} 个 2020 年度已退出案件"
            f"（{time.monotonic() - started:.0f} 秒）；正在运行系统监测…"
        )
        monitored = seed_monitoring(seed=seed)
        analyze(MonitoringCase, Finding, ResponsibleUnit, Measure, Alert)
        tallies_refresh()
        snapshots_refresh()
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"演示数据：{result['households']} 户、{result['members']} 人、"
                f"{exits['cases'] + exits['history']} 个退出案件、"
                f"{monitored['opened']} 个新监测对象，"
                f"用时 {elapsed:.1f} 秒。"
            )
        )
        call_command("show_demo_accounts", stdout=self.stdout)


class ProgressBar:
    """``[#####-----]  45%  135000/300000 户 · 412000 人 · 90 秒 · 约剩 110 秒`` — redrawn in
    place on a terminal, one line per tenth otherwise (a log keeps ten lines, not 60)."""

    def __init__(self, stdout, *, total: int, started: float):
        self.stdout, self.total, self.started = stdout, total, started
        self.tty = stdout.isatty()
        self.shown_tenth = -1

    def update(self, households: int, members: int) -> None:
        share = households / self.total if self.total else 1.0
        elapsed = time.monotonic() - self.started
        left = elapsed / share - elapsed if share else 0
        filled = round(share * BAR_WIDTH)
        line = (
            f"  [{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {share:4.0%}  {households}/{self.total} 户 · "
            f"{members} 人 · {elapsed:.0f} 秒 · 约剩 {left:.0f} 秒"
        )
        if self.tty:
            self.stdout.write("\r" + line, ending="")
            self.stdout.flush()
        elif int(share * 10) > self.shown_tenth:
            self.shown_tenth = int(share * 10)
            self.stdout.write(line)

    def finish(self) -> None:
        if self.tty:
            self.stdout.write("")
