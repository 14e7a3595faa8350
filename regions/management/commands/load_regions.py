from django.core.management.base import BaseCommand

from regions.data import generated_tree
from regions.services import region_tree_load


class Command(BaseCommand):
    help = "Load Ankang (610900), its ten county-level units and generated towns and villages. Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--towns-per-county", type=int, default=15)
        parser.add_argument("--villages-per-town", type=int, default=10)

    def handle(self, *args, towns_per_county, villages_per_town, **options):
        result = region_tree_load(rows=generated_tree(towns_per_county, villages_per_town))
        self.stdout.write(
            self.style.SUCCESS(
                f"区划：共 {result['total']} 个，新增 {result['created']} 个，更名 {result['renamed']} 个。"
            )
        )
