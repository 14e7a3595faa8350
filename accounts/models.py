"""Users and the six roles of DOMAIN.md §1."""

from django.contrib.auth.models import AbstractUser
from django.contrib.auth.models import UserManager as DjangoUserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords


class Role(models.TextChoices):
    VILLAGE_CADRE = "village_cadre", _("村级录入员")
    TOWN_OFFICIAL = "town_official", _("镇办干部")
    SECTOR = "sector", _("行业部门")
    COUNTY_OFFICIAL = "county_official", _("县级审批")
    CITY_SUPERVISOR = "city_supervisor", _("市级督查")
    ADMIN = "admin", _("系统管理员")


class Sector(models.TextChoices):
    """Sector departments that certify exit criteria and upload comparison lists."""

    POVERTY_STATISTICS = "poverty", _("扶贫/统计")
    EDUCATION = "education", _("教育")
    HEALTH = "health", _("卫健/医保")
    HOUSING = "housing", _("住建")
    WATER = "water", _("水利")
    HUMAN_RESOURCES = "hrss", _("人社")
    CIVIL_AFFAIRS = "civil", _("民政")
    PUBLIC_SECURITY = "police", _("公安")
    DISABLED_FEDERATION = "disabled", _("残联")


# The region level each role's account is attached to; admins need none.
ROLE_REGION_LEVEL = {
    Role.VILLAGE_CADRE: "village",
    Role.TOWN_OFFICIAL: "town",
    Role.SECTOR: "county",
    Role.COUNTY_OFFICIAL: "county",
    Role.CITY_SUPERVISOR: "city",
}

READ_ONLY_ROLES = frozenset({Role.CITY_SUPERVISOR})
REVEAL_ROLES = frozenset({Role.VILLAGE_CADRE, Role.TOWN_OFFICIAL, Role.COUNTY_OFFICIAL, Role.SECTOR, Role.ADMIN})


class UserManager(DjangoUserManager):
    def create_superuser(self, username, email=None, password=None, **extra_fields):
        extra_fields.setdefault("role", Role.ADMIN)
        return super().create_superuser(username, email, password, **extra_fields)


class User(AbstractUser):
    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    role = models.CharField(_("角色"), max_length=20, choices=Role.choices)
    region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("所属区划"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="users",
    )
    sector = models.CharField(_("行业部门"), max_length=12, choices=Sector.choices, blank=True)
    phone = models.CharField(_("手机号码"), max_length=11, blank=True)
    # Raised by "退出所有设备": it is part of the session hash, so every session signed
    # with the old value is refused at its next request (see _get_session_auth_hash).
    session_generation = models.PositiveIntegerField(_("登录会话代次"), default=0, editable=False)

    # Role, region and sector changes are audited; password hashes and login
    # timestamps are not domain data and stay out of the history table.
    history = HistoricalRecords(
        verbose_name=_("用户变更记录"), excluded_fields=["password", "last_login", "session_generation"]
    )
    objects = UserManager()

    class Meta:
        verbose_name = _("用户")
        verbose_name_plural = _("用户")
        constraints = [
            models.CheckConstraint(condition=Q(role__in=Role.values), name="user_role_valid"),
            # A sector department account names its sector; no other role has one.
            models.CheckConstraint(
                condition=(Q(role="sector") & Q(sector__in=Sector.values)) | (~Q(role="sector") & Q(sector="")),
                name="user_sector_iff_sector_role",
            ),
            # Everyone but an administrator works within a region.
            models.CheckConstraint(
                condition=Q(role="admin") | Q(region__isnull=False), name="user_region_unless_admin"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name or self.username

    def get_full_name(self) -> str:
        return self.full_name or self.username

    def save(self, *args, **kwargs):
        # API tokens die with the password and with the account. This is the one place
        # every path that changes either goes through: the password page, the admin's
        # password form, `manage.py changepassword`, a deactivation in the admin.
        # (set_password() leaves the raw password in _password until the save.)
        password_changed = self._password is not None
        super().save(*args, **kwargs)
        if password_changed or not self.is_active:
            from knox.models import AuthToken

            AuthToken.objects.filter(user=self).delete()

    def _get_session_auth_hash(self, secret=None):
        # Django signs each session with an HMAC of the password hash; adding the
        # generation lets "退出所有设备" end every session without a password change.
        # Generation 0 keeps Django's own value, so upgrading logs nobody out.
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "povertyexit.accounts.User.session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_write(self) -> bool:
        """City supervisors watch; they never change records (DOMAIN.md §1)."""
        return self.is_active and self.role not in READ_ONLY_ROLES

    @property
    def can_reveal_personal_data(self) -> bool:
        """Full ID and phone numbers are for the people who work with the household;
        supervisors see statistics and masked lists (DOMAIN.md §9)."""
        return self.is_active and self.role in REVEAL_ROLES

    def clean(self) -> None:
        super().clean()
        errors = {}
        expected = ROLE_REGION_LEVEL.get(self.role)
        from regions.models import Region

        # A code that matches no region is reported by field validation; don't crash here.
        region = Region.objects.filter(pk=self.region_id).first() if self.region_id else None
        if expected and self.region_id is None:
            errors["region"] = _("%(role)s必须指定所属区划。") % {"role": self.get_role_display()}
        elif expected and region is not None and region.level != expected:
            errors["region"] = _("%(role)s的所属区划必须是%(level)s级。") % {
                "role": self.get_role_display(),
                "level": Region.Level(expected).label,
            }
        if self.role == Role.SECTOR and not self.sector:
            errors["sector"] = _("行业部门账号必须选择所属行业部门。")
        if self.role != Role.SECTOR and self.sector:
            errors["sector"] = _("只有行业部门账号可以选择行业部门。")
        if errors:
            raise ValidationError(errors)
