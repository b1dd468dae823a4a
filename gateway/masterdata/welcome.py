"""The welcome letter: when a contract is signed, a PDF letter is rendered and filed in the DMS.

A consumer of ``masterdata.contracts`` (group ``proud.welcome-letters``) reacts to ``created`` changes. The
letter is stored as a ``welcome_letter`` document linked to the contract, customer, account and OPM, in the
same transaction as the inbox row, so each contract gets exactly one letter however often the event is
delivered. A contract withdrawn or ended before its letter was written gets none, and so does one whose
supply started more than ``LATE_DAYS_MAX`` days before: that is a migrated contract (an import of the
existing book), not a new customer to welcome.

The wording is the template of the setting ``welcome_letter_template`` (else the packaged one), loaded when
the consumer is built, so that a bad template stops start-up instead of failing each letter.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from gateway.bus.handler import HandlerContext, Subscription
from gateway.config import Settings
from gateway.errors import HandlerRejected
from gateway.masterdata.accounts import get_account
from gateway.masterdata.contracts import get_contract
from gateway.masterdata.customers import get_customer
from gateway.masterdata.documents import create_document, documents_about
from gateway.masterdata.filestore import FileStore
from gateway.masterdata.letter_template import LetterTemplate, load_letter_template, packaged_letter_template
from gateway.masterdata.letters import WelcomeLetter, render_welcome_letter
from gateway.masterdata.opm import get_opm
from gateway.masterdata.service_base import local_date
from gateway.masterdata.topics import CONTRACTS
from schemas.masterdata.accounts import Account
from schemas.masterdata.activities import EntityRef
from schemas.masterdata.common import Address
from schemas.masterdata.customers import Customer
from schemas.masterdata.events import MasterDataChanged

WELCOME_LETTERS_GROUP: Final = "proud.welcome-letters"
ACTOR: Final = "system:welcome-letters"
#: A contract whose supply started longer ago than this is not new: no welcome letter (imported book).
LATE_DAYS_MAX: Final = 30
#: Address kinds a letter goes to, in order of preference.
_MAILING_KINDS: Final = ("correspondence", "permanent", "registered", "billing")


def address_lines(address: Address) -> list[str]:
    """Envelope lines: "Street 12/3" (or "City-part 12" in a village), "110 00 City"."""
    street = address.street or address.city_part or address.city
    postal = address.postal_code
    if address.country == "CZ" and len(postal) == 5:
        postal = f"{postal[:3]} {postal[3:]}"
    lines = [f"{street} {address.house_number}", f"{postal} {address.city}"]
    if address.country != "CZ":
        lines.append(address.country)
    return lines


def mailing_address(customer: Customer, account: Account) -> list[str]:
    if account.billing_address is not None:
        return address_lines(account.billing_address)
    by_kind = {typed.kind: typed.address for typed in customer.addresses}
    for kind in _MAILING_KINDS:
        if kind in by_kind:
            return address_lines(by_kind[kind])
    raise HandlerRejected(f"customer {customer.number} has no address to send the welcome letter to")


def payment_text(account: Account) -> str:
    if account.payment_method == "direct_debit":
        return f"Inkaso z účtu {account.iban}"
    if account.payment_method == "sipo":
        return f"SIPO, spojovací číslo {account.sipo_number}"
    if account.payment_method == "postal_order":
        return "Poštovní poukázka"
    return "Bankovní převod"


@dataclass(frozen=True, slots=True)
class WelcomeLetters:
    files: FileStore
    supplier_name: str
    supplier_address: str
    template: LetterTemplate = field(default_factory=packaged_letter_template)

    def subscription(self) -> Subscription:
        return Subscription(WELCOME_LETTERS_GROUP, (CONTRACTS.name,), self)

    async def __call__(self, ctx: HandlerContext) -> None:
        body = ctx.envelope.payload
        if not isinstance(body, MasterDataChanged):
            raise HandlerRejected(f"welcome letters got {ctx.envelope.type}, expected masterdata.changed")
        if body.entity != "contract" or body.action != "created":
            return
        conn = ctx.conn
        if await documents_about(conn, [("contract", body.key)], kind="welcome_letter", limit=1):
            return  # written before under another message id (a replayed or re-emitted event)
        today = local_date(ctx.now)
        contract = await get_contract(conn, body.key, as_of=today)
        first_terms = contract.versions[0] if contract.versions else None
        if contract.status in ("withdrawn", "ended") or first_terms is None:
            return
        if (today - contract.valid_from).days > LATE_DAYS_MAX:
            return
        customer = await get_customer(conn, contract.customer)
        account = await get_account(conn, first_terms.account)
        opm = await get_opm(conn, contract.opm, as_of=max(today, contract.valid_from))
        letter = WelcomeLetter(
            supplier_name=self.supplier_name, supplier_address=self.supplier_address,
            customer_name=customer.name, correspondence_address=mailing_address(customer, account),
            contract_number=contract.number, commodity=contract.commodity, opm_code=opm.code,
            supply_address=", ".join(address_lines(opm.supply_address)), product=first_terms.product,
            valid_from=contract.valid_from, valid_to=first_terms.valid_to,
            withdrawal_until=contract.withdrawal_until, variable_symbol=account.variable_symbol,
            payment_method_text=payment_text(account), letter_date=today,
        )
        pdf = await asyncio.to_thread(render_welcome_letter, letter, self.template)
        links = [
            EntityRef(entity="contract", key=contract.number),
            EntityRef(entity="customer", key=customer.number),
            EntityRef(entity="account", key=account.variable_symbol),
            EntityRef(entity="opm", key=opm.code),
        ]
        await create_document(
            conn, self.files, ACTOR, ctx.now, kind="welcome_letter",
            title=f"Uvítací dopis ke smlouvě {contract.number}",
            filename=f"uvitaci-dopis-{contract.number}.pdf",
            media_type="application/pdf", content=pdf, links=links,
        )


def welcome_letters(settings: Settings, files: FileStore) -> WelcomeLetters:
    """The consumer; raises ``InvalidLetterTemplate`` (a ``ConfigError``) for a bad template file."""
    configured = settings.welcome_letter_template
    template = load_letter_template(Path(configured) if configured else None)
    return WelcomeLetters(files, settings.supplier_name, settings.supplier_address, template)


