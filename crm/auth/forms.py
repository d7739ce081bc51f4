"""Forms of the login page, the user administration pages and the API token pages."""

from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from crm.auth.models import ROLE_LABELS
from crm.core.forms import BaseForm, choices

MISMATCH = "两次输入的密码不一致"


class LoginForm(BaseForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=256)])
    remember = BooleanField("在这台电脑上保持登录")


class UserCreateForm(BaseForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(min=2, max=64)])
    display_name = StringField("姓名", validators=[Optional(), Length(max=64)])
    role = SelectField("角色", choices=choices(ROLE_LABELS.items()))
    district = SelectField("所属区县（区县专员必填）", choices=[], validate_choice=False)
    # The division list is set by the view; the service checks the name (crm.places.division_id_of).
    division = SelectField("所属处室（招商专员、处室负责人）", choices=[], validate_choice=False, default="")
    password = PasswordField("初始密码", validators=[DataRequired("请输入初始密码"), Length(max=256)])
    confirm = PasswordField(
        "再次输入密码", validators=[DataRequired("请再次输入密码"), EqualTo("password", MISMATCH)]
    )


class DivisionForm(BaseForm):
    """An administrator puts an officer or a manager in a division (or none)."""

    division = SelectField("所属处室", choices=[], validate_choice=False, default="")


class PasswordResetForm(BaseForm):
    password = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=256)])
    confirm = PasswordField(
        "再次输入新密码", validators=[DataRequired("请再次输入新密码"), EqualTo("password", MISMATCH)]
    )


class ConfirmForm(BaseForm):
    """A POST-only button: no fields, only the CSRF token."""


TOKEN_DAYS = ((30, "30 天"), (90, "90 天"), (180, "180 天"), (365, "一年"))


class TokenCreateForm(BaseForm):
    """A new API token: its name, how long it lasts, whether it may only read."""

    name = StringField(
        "令牌名称", validators=[DataRequired("请填写令牌名称，如“OA 系统”"), Length(min=2, max=64)]
    )
    expires_days = SelectField("有效期", choices=choices(TOKEN_DAYS), coerce=int, default=90)
    read_only = BooleanField("只读（只能查询，不能新建或修改数据）")


class AdminTokenCreateForm(TokenCreateForm):
    """An administrator's: for any active user (the choices are set by the view)."""

    user_id = SelectField("所属用户", choices=[], coerce=int)
