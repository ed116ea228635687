"""SoftLayer data types: their properties, and how an object is serialised.

Each type lists its local properties (sent without a mask) and its
relational ones (sent only when a mask asks for them). A property reads a
column of a table row, a key of a dict, or computes its value. Serialising
applies the object mask, so masks are handled here and nowhere else.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from emulator.errors import SoftLayer_Exception_Public
from emulator.objectmask import Mask

# SoftLayer answers in its data centre's time (US Central, without DST here).
SERVICE_TIMEZONE = timezone(timedelta(hours=-6))


@dataclass(frozen=True)
class Property:
    name: str
    relational: bool = False
    # The attribute or dict key that holds the value; defaults to `name`.
    source: str | None = None
    # SoftLayer type of a relational property's value (None: a plain value).
    type_name: str | None = None
    many: bool = False
    compute: Callable[[Any], Any] | None = None
    # For filters: the column this property reads, or a dotted path through
    # relational properties that leads to one.
    filter_path: str | None = None

    def read(self, obj: Any) -> Any:
        if self.compute is not None:
            return self.compute(obj)
        key = self.source or self.name
        if isinstance(obj, dict):
            return obj.get(key)
        return getattr(obj, key, None)


@dataclass
class SoftLayerType:
    name: str
    properties: dict[str, Property] = field(default_factory=dict)
    # The SQLModel table behind the type, for types stored in the database.
    model: type | None = None

    def property(self, name: str) -> Property:
        prop = self.properties.get(name)
        if prop is None:
            raise SoftLayer_Exception_Public(
                f"Property '{name}' not valid for '{self.name}'."
            )
        return prop

    def local_properties(self) -> list[Property]:
        return [p for p in self.properties.values() if not p.relational]


TYPES: dict[str, SoftLayerType] = {}


def define(name: str, model: type | None = None, *properties: Property) -> SoftLayerType:
    softlayer_type = SoftLayerType(name, {p.name: p for p in properties}, model)
    TYPES[name] = softlayer_type
    return softlayer_type


def local(name: str, source: str | None = None) -> Property:
    return Property(name, source=source)


def relation(
    name: str,
    type_name: str | None,
    source: str | None = None,
    many: bool = False,
    compute: Callable[[Any], Any] | None = None,
    filter_path: str | None = None,
) -> Property:
    return Property(
        name,
        relational=True,
        source=source,
        type_name=type_name,
        many=many,
        compute=compute,
        filter_path=filter_path,
    )


def check_mask(mask: Mask | None, type_name: str) -> None:
    """Refuse a mask naming a property the type (or a nested type) lacks.

    Checked before the call runs, so the answer does not depend on whether
    the result happens to hold an object of the nested type.
    """
    if not mask:
        return
    softlayer_type = TYPES[type_name]
    for name, child in mask.items():
        prop = softlayer_type.property(name)
        if not child:
            continue
        if prop.type_name is None:
            raise SoftLayer_Exception_Public(
                f"Property '{next(iter(child))}' not valid for '{name}' of "
                f"'{softlayer_type.name}': it has no properties."
            )
        check_mask(child, prop.type_name)


def serialize(value: Any, type_name: str, mask: Mask | None = None) -> Any:
    """A JSON-ready value of `type_name`, with the mask applied."""
    if isinstance(value, (list, tuple)):
        return [serialize(item, type_name, mask) for item in value]

    softlayer_type = TYPES[type_name]
    mask = mask or {}
    for name in mask:
        softlayer_type.property(name)

    chosen_local = [
        softlayer_type.properties[n] for n in mask if not softlayer_type.properties[n].relational
    ]
    # SoftLayer sends every local property unless the mask picks some.
    local_props = chosen_local or softlayer_type.local_properties()
    relational = [
        softlayer_type.properties[n] for n in mask if softlayer_type.properties[n].relational
    ]

    result: dict[str, Any] = {}
    for prop in local_props:
        _put(result, prop.name, plain_value(prop.read(value)))
    for prop in relational:
        raw = prop.read(value)
        if raw is None:
            continue
        if prop.type_name is None:
            _put(result, prop.name, plain_value(raw))
        else:
            result[prop.name] = serialize(raw, prop.type_name, mask[prop.name])
    return result


def _put(result: dict[str, Any], name: str, value: Any) -> None:
    # SoftLayer leaves unset properties out rather than sending null.
    if value is not None:
        result[name] = value


def plain_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_date(value)
    return value


def format_date(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(SERVICE_TIMEZONE).replace(microsecond=0).isoformat()


def _watermark(job: Any) -> dict | None:
    return json.loads(job.watermark) if job.watermark else None


def _status_name(job: Any) -> str | None:
    return job.transcode_status.name if job.transcode_status else None


def _register_types() -> None:
    from emulator import models

    define(
        "SoftLayer_Account",
        models.Account,
        local("id"),
        local("companyName", "company_name"),
        local("email"),
        local("createDate", "create_date"),
        relation(
            "transcodeAccounts",
            "SoftLayer_Network_Media_Transcode_Account",
            "transcode_accounts",
            many=True,
        ),
        relation("users", "SoftLayer_User_Customer", many=True),
    )
    define(
        "SoftLayer_User_Customer",
        models.User,
        local("id"),
        local("username"),
        local("accountId", "account_id"),
        local("email"),
        local("firstName", "first_name"),
        local("lastName", "last_name"),
        local("createDate", "create_date"),
        relation("account", "SoftLayer_Account"),
    )
    define(
        "SoftLayer_Network_Media_Transcode_Account",
        models.TranscodeAccount,
        local("id"),
        local("accountId", "account_id"),
        local("createDate", "create_date"),
        local("modifyDate", "modify_date"),
        relation("account", "SoftLayer_Account"),
        relation(
            "transcodeJobs",
            "SoftLayer_Network_Media_Transcode_Job",
            "transcode_jobs",
            many=True,
        ),
        relation(
            "transcodeJobCount", None, compute=lambda a: len(a.transcode_jobs)
        ),
    )
    define(
        "SoftLayer_Network_Media_Transcode_Job",
        models.TranscodeJob,
        local("id"),
        local("transcodeAccountId", "transcode_account_id"),
        local("userId", "user_id"),
        local("name"),
        local("inputFile", "input_file"),
        local("outputFile", "output_file"),
        local("transcodePresetGuid", "preset_guid"),
        local("transcodePresetName", "preset_name"),
        local("transcodeJobGuid", "job_guid"),
        local("transcodeStatusId", "status_id"),
        local("byteIn", "byte_in"),
        local("autoDeleteDuration", "auto_delete_duration"),
        local("createDate", "create_date"),
        local("modifyDate", "modify_date"),
        relation(
            "history", "SoftLayer_Network_Media_Transcode_Job_History", many=True
        ),
        relation("historyCount", None, compute=lambda j: len(j.history)),
        relation(
            "transcodeAccount",
            "SoftLayer_Network_Media_Transcode_Account",
            "transcode_account",
        ),
        relation(
            "transcodeStatus",
            "SoftLayer_Network_Media_Transcode_Job_Status",
            "transcode_status",
        ),
        relation(
            "transcodeStatusName",
            None,
            compute=_status_name,
            filter_path="transcodeStatus.name",
        ),
        relation("user", "SoftLayer_User_Customer"),
        relation(
            "watermark",
            "SoftLayer_Container_Network_Media_Transcode_Job_Watermark",
            compute=_watermark,
        ),
    )
    define(
        "SoftLayer_Network_Media_Transcode_Job_History",
        models.TranscodeJobHistory,
        local("createDate", "create_date"),
        local("publicNotes", "public_notes"),
        local("transcodeJobId", "job_id"),
        local("transcodeStatusName", "status_name"),
    )
    define(
        "SoftLayer_Network_Media_Transcode_Job_Status",
        models.TranscodeJobStatus,
        local("id"),
        local("name"),
        local("description"),
    )
    define(
        "SoftLayer_Container_Network_Media_Transcode_Job_Watermark",
        None,
        local("fileName"),
        local("text"),
        # Container types carry their nested values as plain local properties.
        local("position"),
        local("startTime"),
        local("endTime"),
        local("transparencyPercentage"),
    )
    define(
        "SoftLayer_Container_Network_Media_Transcode_Preset",
        None,
        local("GUID"),
        local("name"),
        local("category"),
        local("description"),
    )
    define(
        "SoftLayer_Container_Network_Media_Transcode_Preset_Element",
        None,
        *(
            local(n)
            for n in (
                "name",
                "description",
                "extendedDescription",
                "type",
                "defaultValue",
                "minimumValue",
                "maximumValue",
                "enabled",
                "hidden",
                "parentName",
            )
        ),
        local("additionalElements"),
    )
    define(
        "SoftLayer_Container_Network_Media_Information",
        None,
        *(
            local(n)
            for n in (
                "file",
                "fileFormat",
                "fileSize",
                "duration",
                "frameRate",
                "totalFrames",
                "sizeX",
                "sizeY",
                "videoAspectX",
                "videoAspectY",
                "videoCodec",
                "videoBitRate",
                "audioCodec",
                "audioBitRate",
                "audioSampleRate",
                "audioChannels",
                "audioChannelMode",
                "errorMessage",
            )
        ),
    )
    define(
        "SoftLayer_Container_Network_Directory_Listing",
        None,
        local("name"),
        local("type"),
        local("fileCount"),
    )
    define(
        "SoftLayer_Container_Network_Authentication_Data",
        None,
        local("host"),
        local("port"),
        local("username"),
        local("password"),
        local("type"),
    )


_register_types()
