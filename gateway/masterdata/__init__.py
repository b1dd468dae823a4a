"""Master data of the system of record (issue #4).

``gateway.masterdata.identifiers`` validates and normalises every identifier proud accepts: electricity
OPM and participant EANs, gas EICs, IČO, DIČ, rodné číslo, Czech bank accounts, IBANs, payment symbols,
SIPO connection numbers and PSČ. Each ``validate_<kind>`` returns the one canonical spelling that is
stored and compared, or raises ``InvalidIdentifier`` naming the kind, the value and the reason.
"""
