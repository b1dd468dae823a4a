"""One import row applied through the services: created when its natural key is new, otherwise updated with
the fields the row gives (fields it leaves out keep their stored values), or left alone when nothing differs.

Only the services write: ``create_*`` for new records, and for existing ones the same calls the API makes
(``update_customer``, ``update_account``, ``amend_contract``, ``update_opm`` / ``set_technical`` /
``install_meter``), so every change is validated, versioned, audited and announced as any other. A field that
identifies a record and cannot change (a customer's kind, IČO or birth number, an account's customer, a
contract's parties and dates) is reported when it differs instead of being silently ignored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Final, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.errors import InvalidField, NotFound
from gateway.masterdata import accounts, contracts, customers
from gateway.masterdata import opm as opm_service
from gateway.masterdata.bulk import Stored, differences, load_stored, validate_opm
from gateway.masterdata.identifiers import (
    InvalidIdentifier,
    validate_birth_number,
    validate_ico,
    validate_variable_symbol,
)
from gateway.masterdata.importer_rows import Row
from gateway.masterdata.opm_checks import lookup_code
from gateway.masterdata.service_base import local_date
from schemas.masterdata.accounts import AccountIn, AccountPatch
from schemas.masterdata.contracts import Amendment, ContractIn
from schemas.masterdata.customers import CustomerIn, CustomerPatch
from schemas.masterdata.opm import OpmIn, OpmPatch

Outcome = Literal["created", "updated", "unchanged"]

_CUSTOMER_PATCH: Final = frozenset(CustomerPatch.__struct_fields__) - {"version"}
_ACCOUNT_PATCH: Final = frozenset(AccountPatch.__struct_fields__) - {"version"}
#: Fields only one payment method uses: a row naming the method states them too (absent = none).
_METHOD_FIELDS: Final = frozenset({"iban", "sipo_number"})
#: Contract fields an amendment changes; the others identify the contract.
_TERMS: Final = ("product", "account", "valid_to", "notice_period_days")
_CONTRACT_FIXED: Final = ("customer", "opm", "signed_on", "valid_from", "negotiation", "billed_until")


def canonical(validate: Callable[[str], str], value: str) -> str:
    """``validate(value)``, or ``value`` as it is when invalid (the service then reports it properly)."""
    try:
        return validate(value)
    except InvalidIdentifier:
        return value


def _fixed(kind: str, key: str, field: str, given: Any, stored: Any) -> None:
    if given != stored:
        reason = f"differs from the stored {stored!r} of {kind} {key}, and an import cannot change it"
        raise InvalidField(field, given, reason)


async def apply_customer(conn: AsyncConnection, actor: str, now: dt.datetime, row: Row) -> Outcome:
    data: CustomerIn = row.data
    try:
        stored = await customers.get_customer(conn, row.key)
    except NotFound:
        await customers.create_customer(conn, actor, now, data)
        return "created"
    _fixed("customer", row.key, "customer_kind", data.kind, stored.kind)
    if "ico" in row.given and data.ico is not None:
        _fixed("customer", row.key, "ico", canonical(validate_ico, data.ico), stored.ico)
    if "birth_number" in row.given and data.birth_number is not None:
        given = canonical(validate_birth_number, data.birth_number)
        _fixed("customer", row.key, "birth_number", given, stored.birth_number)
    values = {name: getattr(data, name) for name in row.given & _CUSTOMER_PATCH}
    after = await customers.update_customer(
        conn, actor, now, row.key, CustomerPatch(version=stored.version, **values)
    )
    return "unchanged" if after.version == stored.version else "updated"


async def apply_account(conn: AsyncConnection, actor: str, now: dt.datetime, row: Row) -> Outcome:
    data: AccountIn = row.data
    variable_symbol = canonical(validate_variable_symbol, row.key)
    try:
        stored = await accounts.get_account(conn, variable_symbol)
    except NotFound:
        await accounts.create_account(conn, actor, now, data)
        return "created"
    _fixed("account", variable_symbol, "customer", data.customer, stored.customer)
    names = row.given & _ACCOUNT_PATCH
    if "payment_method" in names:
        names |= _METHOD_FIELDS
    values = {name: getattr(data, name) for name in names}
    after = await accounts.update_account(
        conn, actor, now, variable_symbol, AccountPatch(version=stored.version, **values)
    )
    return "unchanged" if after.version == stored.version else "updated"


async def apply_contract(conn: AsyncConnection, actor: str, now: dt.datetime, row: Row) -> Outcome:
    """A changed term is an amendment from today (or replaces the latest terms if they start later)."""
    data: ContractIn = row.data
    today = local_date(now)
    try:
        stored = await contracts.get_contract(conn, row.key, today)
    except NotFound:
        await contracts.create_contract(conn, actor, now, data)
        return "created"
    given = {**{name: getattr(data, name) for name in _CONTRACT_FIXED}, "opm": lookup_code(data.opm)}
    for name in _CONTRACT_FIXED:
        if name in row.given:
            _fixed("contract", row.key, name, given[name], getattr(stored, name))
    latest = stored.versions[-1]
    terms = {name: getattr(data, name) for name in _TERMS if name in row.given}
    if "account" in terms:
        terms["account"] = canonical(validate_variable_symbol, terms["account"])
    changed = {name: value for name, value in terms.items() if value != getattr(latest, name)}
    if not changed:
        return "unchanged"
    amendment = Amendment(effective_from=max(today, latest.effective_from), **changed)
    await contracts.amend_contract(conn, actor, now, row.key, amendment)
    return "updated"


async def apply_opm_change(
    conn: AsyncConnection, actor: str, now: dt.datetime, data: OpmIn, stored: Stored, found: list[str]
) -> Outcome:
    """Bring an existing OPM in line with the row: address and DSO, technical data, meters not yet known."""
    code = data.code
    if "dso" in found or "supply_address" in found:
        patch = OpmPatch(version=stored.row.version, dso=data.dso, supply_address=data.supply_address)
        await opm_service.update_opm(conn, actor, now, code, patch)
    if "technical" in found:
        await opm_service.set_technical(conn, actor, now, code, data.technical)
    if "meters" in found:
        for index, meter in enumerate(data.meters):
            registers = stored.meters.get((meter.serial, meter.installed_on))
            if registers is None:
                await opm_service.install_meter(conn, actor, now, code, meter)
            elif registers != meter.registers:
                reason = (
                    f"differ from those of meter {meter.serial} installed at OPM {code}; a meter's registers "
                    "change only with a meter change"
                )
                raise InvalidField(f"meters[{index}].registers", [r.code for r in meter.registers], reason)
    return "updated"


async def apply_opm(conn: AsyncConnection, actor: str, now: dt.datetime, row: Row) -> Outcome:
    """One OPM row on its own (outside the bulk path): created, compared, or changed."""
    data, _commodity = validate_opm(row.data, decoded=row.decoded)
    stored = (await load_stored(conn, [data.code])).get(data.code)
    if stored is None:
        await opm_service.create_opm(conn, actor, now, data)
        return "created"
    found = differences(data, stored)
    if not found:
        return "unchanged"
    return await apply_opm_change(conn, actor, now, data, stored, found)
