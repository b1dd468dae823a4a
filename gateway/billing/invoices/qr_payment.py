"""Payment details of an invoice: the domestic form of the supplier's account and the QR Platba string."""

from __future__ import annotations

from typing import Final

from gateway.billing.invoices.spayd import SpaydPayment, spayd_string
from gateway.errors import InvalidField
from schemas.billing.invoice import BankAccount, InvoiceDocument

#: The message the customer's bank shows with the payment: which document is being paid.
MESSAGE_PREFIXES: Final[dict[str, str]] = {
    "settlement": "Vyúčtování",
    "credit_note": "Dobropis",
    "advance_request": "Záloha",
    "advance_tax_document": "Záloha",
}


def domestic_account(account: BankAccount) -> tuple[str, str]:
    """``(prefix-number, bank code)`` of a Czech IBAN (CZkk BBBB PPPPPP NNNNNNNNNN, finance-formats §2); a
    foreign IBAN has no domestic form, so the IBAN itself and an empty bank code."""
    iban = account.iban
    if not iban.startswith("CZ") or len(iban) != 24:
        return iban, ""
    bank, prefix, number = iban[4:8], int(iban[8:14]), int(iban[14:])
    return (f"{prefix}-{number}" if prefix else str(number)), bank


def payment_spayd(document: InvoiceDocument) -> str:
    """The QR Platba of the amount due: account IBAN, balance, CZK, due date, VS and the document number."""
    balance = document.settlement.balance
    if balance <= 0:
        raise InvalidField("settlement.balance", balance, "there is nothing to pay, so no QR Platba")
    payment = SpaydPayment(
        iban=document.supplier.bank_account.iban,
        amount=balance,
        due_date=document.due_date,
        message=f"{MESSAGE_PREFIXES[document.kind]} {document.number}",
        variable_symbol=document.variable_symbol,
    )
    return spayd_string(payment)
