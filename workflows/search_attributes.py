"""Custom search attributes: how operators find cases in the Temporal UI.

They are never encrypted, so they carry ids and stages only, no personal data.
The local stack and the tests register exactly these.
"""

from temporalio.common import SearchAttributeKey

MUNICIPALITY = SearchAttributeKey.for_keyword("KvMunicipality")
ACCOUNT = SearchAttributeKey.for_keyword("KvAccount")
UNIT = SearchAttributeKey.for_keyword("KvUnit")
PLATFORM = SearchAttributeKey.for_keyword("KvPlatform")
STAGE = SearchAttributeKey.for_keyword("KvStage")
NEXT_DEADLINE = SearchAttributeKey.for_datetime("KvNextDeadline")
ESCALATED = SearchAttributeKey.for_bool("KvEscalated")
CRISIS = SearchAttributeKey.for_bool("KvCrisis")
# a storm of criticism is flagged on the account (until its cool-down ends).
STORM = SearchAttributeKey.for_bool("KvStorm")
# when the account was last checked by one of its admins.
LAST_CHECK_IN = SearchAttributeKey.for_datetime("KvLastCheckIn")

ALL = (MUNICIPALITY, ACCOUNT, UNIT, PLATFORM, STAGE, NEXT_DEADLINE, ESCALATED, CRISIS, STORM,
       LAST_CHECK_IN)
