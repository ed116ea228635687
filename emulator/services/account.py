"""SoftLayer_Account and SoftLayer_User_Customer: how clients find their ids."""

from __future__ import annotations

from sqlmodel import select

from emulator.dispatch import Service, softlayer_method
from emulator.errors import SoftLayer_Exception_Public, object_not_found
from emulator.models import Account, TranscodeAccount, User

EDITABLE_USER_PROPERTIES = {"email": "email", "firstName": "first_name", "lastName": "last_name"}


class AccountService(Service):
    name = "SoftLayer_Account"

    @softlayer_method("getObject", returns="SoftLayer_Account")
    def get_object(self) -> Account:
        # SoftLayer_Account needs no id: it is always the caller's account.
        return self.session.get(Account, self.user.account_id)

    @softlayer_method(
        "getTranscodeAccounts",
        returns="SoftLayer_Network_Media_Transcode_Account",
        many=True,
        list_property="transcodeAccounts",
    )
    def get_transcode_accounts(self):
        return select(TranscodeAccount).where(TranscodeAccount.account_id == self.user.account_id)

    @softlayer_method(
        "getUsers", returns="SoftLayer_User_Customer", many=True, list_property="users"
    )
    def get_users(self):
        return select(User).where(User.account_id == self.user.account_id)

    @softlayer_method("getCurrentUser", returns="SoftLayer_User_Customer")
    def get_current_user(self) -> User:
        return self.user


class UserCustomerService(Service):
    name = "SoftLayer_User_Customer"

    @softlayer_method("getObject", returns="SoftLayer_User_Customer")
    def get_object(self) -> User:
        return self._own_user()

    @softlayer_method("getCurrentUser", returns="SoftLayer_User_Customer")
    def get_current_user(self) -> User:
        return self.user

    @softlayer_method("getAccount", returns="SoftLayer_Account")
    def get_account(self) -> Account:
        return self.session.get(Account, self._own_user().account_id)

    @softlayer_method("editObject")
    def edit_object(self, template: dict) -> bool:
        """Change the user's e-mail address or name (where notifications go)."""
        user = self._own_user()
        for key, value in template.items():
            column = EDITABLE_USER_PROPERTIES.get(key)
            if column is None:
                raise SoftLayer_Exception_Public(
                    f"Property '{str(key)[:60]}' may not be changed on 'SoftLayer_User_Customer'."
                )
            if not isinstance(value, str) or len(value) > 254:
                raise SoftLayer_Exception_Public(f"Property '{key}' must be a short string.")
            setattr(user, column, value)
        self.session.add(user)
        return True

    def _own_user(self) -> User:
        if self.init_id is None:
            return self.user
        user_id = self.required_id()
        user = self.session.get(User, user_id)
        if user is None or user.account_id != self.user.account_id:
            raise object_not_found(user_id)
        return user
