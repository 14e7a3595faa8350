import json

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Print the demo accounts written by seed_demo (username, password, role, region)."

    def handle(self, *args, **options):
        path = settings.DEMO_ACCOUNTS_FILE
        if not path.exists():
            self.stdout.write("尚未生成演示账号：请运行 python manage.py seed_demo。")
            return
        self.stdout.write("演示账号（用户名 / 密码 / 角色 / 区划）：")
        for account in json.loads(path.read_text(encoding="utf-8")):
            self.stdout.write(
                f"  {account['username']:<12} {account['password']}  {account['role_display']}  "
                f"{account['region_code']} {account['region_name']}"
            )
