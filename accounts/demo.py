"""Demo accounts for `seed_demo`: one per role, and two village cadres in villages of
different towns so that scoping can be seen. Development only."""

from django.db import transaction

from accounts.models import Role, Sector, User
from regions.models import Region

DEMO_PASSWORD = "AnKang@2020"

# username, full name, role, region code, sector
DEMO_ACCOUNTS = [
    ("cadre", "李文华", Role.VILLAGE_CADRE, "610902101201", ""),
    ("cadre2", "王建国", Role.VILLAGE_CADRE, "610902102201", ""),
    ("town", "张晓燕", Role.TOWN_OFFICIAL, "610902101000", ""),
    # Second officials at the town and the county: the one who cross-checks (3) may not
    # review (4), the one who closes the notice (5) may not approve (6) (DOMAIN.md §1).
    ("town2", "杨帆", Role.TOWN_OFFICIAL, "610902101000", ""),
    ("sector", "刘志强", Role.SECTOR, "610902000000", Sector.EDUCATION),
    # The other four departments that certify an exit criterion (DOMAIN.md §3).
    ("sector_poverty", "周海燕", Role.SECTOR, "610902000000", Sector.POVERTY_STATISTICS),
    ("sector_housing", "吴建军", Role.SECTOR, "610902000000", Sector.HOUSING),
    ("sector_health", "郑丽娟", Role.SECTOR, "610902000000", Sector.HEALTH),
    ("sector_water", "孙志明", Role.SECTOR, "610902000000", Sector.WATER),
    ("county", "陈立新", Role.COUNTY_OFFICIAL, "610902000000", ""),
    ("county2", "黄丽", Role.COUNTY_OFFICIAL, "610902000000", ""),
    ("supervisor", "赵俊峰", Role.CITY_SUPERVISOR, "610900000000", ""),
    ("admin", "系统管理员", Role.ADMIN, None, ""),
]


@transaction.atomic
def seed_accounts(password: str = DEMO_PASSWORD) -> list[dict]:
    """Create or reset the demo accounts; returns what `seed_demo` prints and saves."""
    accounts = []
    for username, full_name, role, region_code, sector in DEMO_ACCOUNTS:
        region = Region.objects.get(code=region_code) if region_code else None
        user = User.objects.filter(username=username).first() or User(username=username)
        user.full_name = full_name
        user.role = role
        user.region = region
        user.sector = sector
        user.is_staff = user.is_superuser = role == Role.ADMIN
        user.is_active = True
        user.set_password(password)
        user.full_clean()
        user.save()
        accounts.append(
            {
                "username": username,
                "password": password,
                "role": role.value,
                "role_display": str(role.label),
                "region_code": region_code or "",
                "region_name": region.name if region else "",
            }
        )
    return accounts
