from django import forms
from django.utils.translation import gettext_lazy as _


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Excel 文件"),
        help_text=_("请使用导入模板（.xlsx）；同一文件修改后可重复上传，已有记录按户编号和证件号码更新。"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".xlsx,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
        ),
        error_messages={"required": _("请选择要上传的 Excel 文件。"), "empty": _("上传的文件是空的，请重新选择文件。")},
    )
