"""Evidence files: PDF, JPG or PNG, recognised by their content (not their name), and no
larger than EXIT_ATTACHMENT_MAX_BYTES."""

import pytest

from exits import services
from exits.models import Attachment
from tests.exits.conftest import EXE, JPG, PDF, PNG, refusal, upload
from tests.html import text

pytestmark = pytest.mark.django_db


@pytest.fixture
def case(flow, media):
    return flow.enrol()


@pytest.mark.parametrize(
    ("name", "content", "content_type"),
    [
        ("户主签字.pdf", PDF, "application/pdf"),
        ("入户照片.JPG", JPG, "image/jpeg"),
        ("入户照片.jpeg", JPG, "image/jpeg"),
        ("饮水.png", PNG, "image/png"),
    ],
)
def test_pdf_jpg_and_png_are_accepted_by_their_content(case, alice, name, content, content_type):
    attachment = services.attachment_add(by=alice, case=case, upload=upload(name, content), step=1)
    assert (attachment.original_name, attachment.content_type, attachment.size) == (name, content_type, len(content))
    assert attachment.file.name.startswith(f"exits/{case.pk}/")
    with attachment.file.open("rb") as stored:
        assert stored.read() == content


def test_an_exe_renamed_pdf_is_refused(case, alice):
    error = refusal(services.attachment_add, by=alice, case=case, upload=upload("证明.pdf", EXE), step=1)
    assert error.fields == {"file": ["文件内容与扩展名不符，请上传真实的 PDF、JPG 或 PNG 文件。"]}
    assert not Attachment.objects.exists()


def test_a_png_named_pdf_is_refused(case, alice):
    error = refusal(services.attachment_add, by=alice, case=case, upload=upload("证明.pdf", PNG), step=1)
    assert error.fields == {"file": ["文件内容与扩展名不符，请上传真实的 PDF、JPG 或 PNG 文件。"]}


@pytest.mark.parametrize("name", ["证明.exe", "证明.docx", "证明", "证明.pdf.exe"])
def test_other_kinds_of_file_are_refused(case, alice, name):
    error = refusal(services.attachment_add, by=alice, case=case, upload=upload(name, PDF), step=1)
    assert error.fields == {"file": ["附件只能是 PDF、JPG 或 PNG 文件。"]}


def test_an_oversize_file_is_refused(case, alice, settings):
    settings.EXIT_ATTACHMENT_MAX_BYTES = 2 * 1024 * 1024
    exactly = PDF + b"0" * (2 * 1024 * 1024 - len(PDF))
    services.attachment_add(by=alice, case=case, upload=upload("a.pdf", exactly), step=1)

    error = refusal(services.attachment_add, by=alice, case=case, upload=upload("b.pdf", exactly + b"0"), step=1)
    assert error.fields == {"file": ["附件不能超过 2 MB。"]}
    assert Attachment.objects.count() == 1


def test_an_attachment_belongs_to_a_step_or_a_criterion(case, alice):
    assert refusal(services.attachment_add, by=alice, case=case, upload=upload("a.pdf", PDF)).messages == [
        "请说明附件属于哪个步骤或哪项标准。"
    ]
    assert refusal(services.attachment_add, by=alice, case=case, upload=upload("a.pdf", PDF), step=9).fields == {
        "step": ["步骤无效。"]
    }
    assert refusal(
        services.attachment_add, by=alice, case=case, upload=upload("a.pdf", PDF), criterion="beauty"
    ).fields == {"criterion": ["标准无效。"]}
    attachment = services.attachment_add(by=alice, case=case, upload=upload("a.pdf", PDF), criterion="water")
    assert (attachment.step, attachment.criterion) == (None, "water")


def test_people_outside_the_case_cannot_attach(case, bob, sue):
    assert refusal(services.attachment_add, by=bob, case=case, upload=upload("a.pdf", PDF), step=1).messages == [
        "该退出案件不在您的管辖范围内。"
    ]
    assert refusal(services.attachment_add, by=sue, case=case, upload=upload("a.pdf", PDF), step=1).messages == [
        "市级督查账号为只读账号，不能修改数据。"
    ]


def test_the_page_uploads_and_downloads_an_attachment(client, case, alice, bob):
    client.force_login(alice)
    response = client.post(
        f"/exits/{case.pk}/attachments/", {"file": upload("核实表.pdf", PDF), "target": "step:1"}, follow=True
    )
    assert "附件已上传。" in text(response)
    attachment = Attachment.objects.get()
    assert attachment.step == 1
    assert "核实表.pdf" in text(response)

    download = client.get(f"/exits/attachments/{attachment.pk}/")
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == PDF

    client.force_login(bob)
    assert client.get(f"/exits/attachments/{attachment.pk}/").status_code == 404


def test_the_page_reports_a_refused_upload(client, case, alice):
    client.force_login(alice)
    response = client.post(
        f"/exits/{case.pk}/attachments/", {"file": upload("病毒.pdf", EXE), "target": "criterion:income"}, follow=True
    )
    assert "文件内容与扩展名不符，请上传真实的 PDF、JPG 或 PNG 文件。" in text(response)
    assert not Attachment.objects.exists()
