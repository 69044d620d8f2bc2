"""R-38, issue 12 part 6: the registrars' records-export page on the
dev-server stack. A registrar starts an export with the form; the page comes
back at once (303) while a worker builds it (RecordsExportWorkflow); the list
shows its progress and, when done, a link that downloads the package (a zip
of a valid bag) from the web, which reads it from PostgreSQL. An account
admin may neither see the page nor start one; a form without dates is shown
again with its errors and starts nothing. The page is accessible (axe)."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bagit
from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, person_page, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import browser, csrf_of, sign_in
from tests.e2e.test_messages_api import REGISTRAR
from tests.support import REQUESTER, eventually


async def _exports(stack: Stack) -> int:
    n: int = await stack.pool.fetchval("SELECT count(*) FROM records_exports")
    return n


async def test_r38_a_registrar_starts_a_records_export_on_the_page_and_downloads_it(
        stack: Stack, chromium: Browser, tmp_path: Path) -> None:
    await active_account(stack, platform="tiktok", platform_account_id=None)
    today = datetime.now(UTC).date()
    period = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}

    async with browser(stack) as admin:
        token = await sign_in(admin, REQUESTER)
        assert (await admin.get("/records-exports")).status_code == 403
        r = await admin.post("/records-exports", data={"csrf_token": token, **period})
        assert r.status_code == 403
    assert await _exports(stack) == 0

    async with browser(stack) as registrar:
        await sign_in(registrar, REGISTRAR)
        page = await registrar.get("/records-exports")
        assert page.status_code == 200 and "Arkivuttag" in page.text
        assert "Inga uttag ännu." in page.text
        token = csrf_of(page.text)
        r = await registrar.post("/records-exports", data={"csrf_token": token})
        assert r.status_code == 422 and 'aria-invalid="true"' in r.text
        assert await _exports(stack) == 0

        r = await registrar.post("/records-exports", data={
            "csrf_token": token, "account_id": "", **period})
        assert r.status_code == 303, r.text
        [export_id] = re.findall(r"started=([0-9a-f-]{36})", r.headers["location"])
        assert await _exports(stack) == 1

        async def listed() -> str:
            return (await registrar.get("/records-exports")).text

        text = await eventually(listed, lambda t: 'data-status="done"' in t, 30)
        assert 'data-status="done"' in text, text[-2000:]
        [link] = re.findall(r'href="(/api/records-exports/[0-9a-f-]{36}/package)"', text)
        assert export_id in link
        r = await registrar.get(link)
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        with zipfile.ZipFile(io.BytesIO(r.content)) as package:
            [root] = {name.split("/")[0] for name in package.namelist()}
            package.extractall(tmp_path)
        bag = bagit.Bag(str(tmp_path / root))
        bag.validate()
        assert bag.info["Kanalvakt-Requested-By"] == REGISTRAR

    page = await person_page(chromium, stack, REGISTRAR)
    await page.goto(url(stack, "/records-exports"))
    assert await page.locator('td[data-status="done"] a[download]').count() == 1
    await expect_accessible(page, "records-exports")
