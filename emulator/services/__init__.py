"""The emulated SoftLayer services, one module each."""

from emulator.services.account import AccountService, UserCustomerService
from emulator.services.job import TranscodeJobService, TranscodeJobStatusService
from emulator.services.transcode_account import TranscodeAccountService

ALL_SERVICES = [
    AccountService,
    UserCustomerService,
    TranscodeAccountService,
    TranscodeJobService,
    TranscodeJobStatusService,
]
