"""Import jobs that always end: when a run was queued and started, how many runs it
had, the 无变化 and 失败可重试 outcomes, and the sweep that ends a dead worker's job,
every minute (django-celery-beat, editable in the admin)."""

from django.conf import settings
from django.db import migrations, models

SWEEP = "导入任务巡检（结束处理进程已停止的导入）"


def create_schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(name=SWEEP, defaults={"task": "imports.sweep", "interval": every})


def remove_schedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=SWEEP).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('imports', '0002_sector_comparison'),
        ('regions', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='importjob',
            name='importjob_status_valid',
        ),
        migrations.AddField(
            model_name='importjob',
            name='attempts',
            field=models.PositiveSmallIntegerField(default=0, verbose_name='处理次数'),
        ),
        migrations.AddField(
            model_name='importjob',
            name='queued_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='排队时间'),
        ),
        migrations.AddField(
            model_name='importjob',
            name='started_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='开始处理时间'),
        ),
        migrations.AlterField(
            model_name='importjob',
            name='status',
            field=models.CharField(choices=[('queued', '排队中'), ('checking', '校验中'), ('ready', '待确认导入'), ('rejected', '有错误，未导入'), ('applying', '导入中'), ('applied', '已导入'), ('failed', '文件无法导入'), ('unchanged', '无变化'), ('interrupted', '失败可重试')], default='queued', max_length=12, verbose_name='状态'),
        ),
        migrations.AddConstraint(
            model_name='importjob',
            constraint=models.CheckConstraint(condition=models.Q(('status__in', ['queued', 'checking', 'ready', 'rejected', 'applying', 'applied', 'failed', 'unchanged', 'interrupted'])), name='importjob_status_valid'),
        ),
        migrations.RunPython(create_schedule, remove_schedule),
    ]
