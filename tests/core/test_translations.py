"""The English catalog is complete and its compiled form is current."""

from pathlib import Path

import polib
from django.conf import settings

PO = Path(settings.BASE_DIR) / "locale" / "en" / "LC_MESSAGES" / "django.po"


def test_it_translates_every_message():
    po = polib.pofile(str(PO))
    assert po.untranslated_entries() == []
    assert po.fuzzy_entries() == []


def test_it_ships_a_compiled_catalog_matching_the_source():
    po = polib.pofile(str(PO))
    mo = polib.mofile(str(PO.with_suffix(".mo")))
    compiled = {(entry.msgctxt, entry.msgid): entry.msgstr for entry in mo}
    stale = [entry.msgid for entry in po if compiled.get((entry.msgctxt, entry.msgid)) != entry.msgstr]
    assert stale == [], "run `make messages` to recompile locale/en"
