from django.apps import AppConfig


class CoreConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "core"

    def ready(self) -> None:
        from simple_history.signals import pre_create_historical_record

        from core.history import fit_change_reason

        pre_create_historical_record.connect(fit_change_reason, dispatch_uid="core.fit_change_reason")
