"""The click dimensions reports group by and filters name: shared by the reports, the click
filter and the conversion delays, so none of them imports another for it."""

from enum import StrEnum

from api.enums import graphql_enum
from models.click import SUB_COLUMNS


@graphql_enum(
    "What report rows can be grouped by, besides the time bucket.",
    CAMPAIGN="The click's campaign.",
    OFFER="The offer the click was sent to.",
    TRAFFIC_SOURCE="The campaign's traffic source.",
    COUNTRY="The visitor's country (ISO code).",
    DEVICE_TYPE="The visitor's device type: desktop, mobile, tablet, bot or other.",
    OS="The visitor's operating system.",
    BROWSER="The visitor's browser.",
    **{name.upper(): f"The click's {name} value." for name in SUB_COLUMNS},
)
class ReportDimension(StrEnum):
    CAMPAIGN = "campaign_id"
    OFFER = "offer_id"
    TRAFFIC_SOURCE = "traffic_source_id"
    COUNTRY = "country"
    DEVICE_TYPE = "device_type"
    OS = "os"
    BROWSER = "browser"
    SUB1 = "sub1"
    SUB2 = "sub2"
    SUB3 = "sub3"
    SUB4 = "sub4"
    SUB5 = "sub5"
    SUB6 = "sub6"
    SUB7 = "sub7"
    SUB8 = "sub8"
    SUB9 = "sub9"
    SUB10 = "sub10"
    SUB11 = "sub11"
    SUB12 = "sub12"
    SUB13 = "sub13"
    SUB14 = "sub14"
    SUB15 = "sub15"
    SUB16 = "sub16"
    SUB17 = "sub17"
    SUB18 = "sub18"
    SUB19 = "sub19"
    SUB20 = "sub20"
