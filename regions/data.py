"""The Ankang region tree (DOMAIN.md §1).

The city and its ten county-level units carry their real statistical codes. Towns and
villages are generated, deterministically, so every machine gets the same tree: about
15 towns per county and 10 villages per town, named from common place-name parts.
"""

CITY = ("610900000000", "安康市")

COUNTIES = [
    ("610902000000", "汉滨区"),
    ("610921000000", "汉阴县"),
    ("610922000000", "石泉县"),
    ("610923000000", "宁陕县"),
    ("610924000000", "紫阳县"),
    ("610925000000", "岚皋县"),
    ("610926000000", "平利县"),
    ("610927000000", "镇坪县"),
    ("610928000000", "旬阳县"),
    ("610929000000", "白河县"),
]

_FIRST = "东西南北大小长高新老青石金银双黄红白龙凤马牛安太平茶竹桃花柳松梅"
_SECOND = "河溪沟坪坝岭湾口山坡塘庙桥湖滩关垭院池铺寨台峪川梁园"


def _name(index: int, salt: int) -> str:
    """A two-character place name, different for each (index, salt) in practice."""
    n = index * 7919 + salt * 104729
    return _FIRST[n % len(_FIRST)] + _SECOND[(n // len(_FIRST)) % len(_SECOND)]


def generated_tree(towns_per_county: int = 15, villages_per_town: int = 10):
    """Yield (code, name, level, parent_code) from the city down, parents first."""
    yield CITY[0], CITY[1], "city", None
    for county_code, county_name in COUNTIES:
        yield county_code, county_name, "county", CITY[0]
    for c, (county_code, _county_name) in enumerate(COUNTIES):
        used_town_names = set()
        for t in range(1, towns_per_county + 1):
            # Statistical codes number sub-districts (街道) 001–099 and towns 100 up.
            is_subdistrict = t <= 2
            town_code = f"{county_code[:6]}{t if is_subdistrict else 100 + t - 2:03d}000"
            salt = 0
            while (base := _name(c * 100 + t, salt)) in used_town_names:
                salt += 1
            used_town_names.add(base)
            town_name = f"{base}街道" if is_subdistrict else f"{base}镇"
            yield town_code, town_name, "town", county_code
            used_village_names = set()
            for v in range(1, villages_per_town + 1):
                # Communities (社区) are numbered 001–199, villages 200 up.
                is_community = v == 1
                village_code = f"{town_code[:9]}{v if is_community else 200 + v - 1:03d}"
                salt = 0
                while (vbase := _name((c * 100 + t) * 100 + v, salt + 7)) in used_village_names:
                    salt += 1
                used_village_names.add(vbase)
                yield village_code, f"{vbase}社区" if is_community else f"{vbase}村", "village", town_code
