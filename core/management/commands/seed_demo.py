import json
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from accounts.demo import DEMO_ACCOUNTS, seed_accounts
from exits.demo import seed_exit_cases
from households.demo import seed_households
from monitoring.demo import seed_monitoring
from regions.models import Region


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

        def progress(h, m):
            self.stdout.write(f"  已生成 {h} 户、{m} 人（{time.monotonic() - started:.0f} 秒）")

        result = seed_households(
            households=households, villages=villages, favoured=favoured, seed=seed, chunk=chunk, progress=progress
        )
        exits = seed_exit_cases(seed=seed)
        monitored = seed_monitoring(seed=seed)
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"演示数据：{result['households']} 户、{result['members']} 人、{exits['cases']} 个退出案件、"
                f"{monitored['opened']} 个新监测对象，"
                f"用时 {elapsed:.1f} 秒。"
            )
        )
        call_command("show_demo_accounts", stdout=self.stdout)
