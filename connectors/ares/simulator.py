"""A local ARES: serves ``GET /ekonomicke-subjekty-v-be/rest/ekonomicke-subjekty/{ico}`` like the real one.

Used by the tests and the demo; run it alone with ``python -m connectors.ares.simulator --port 8765``.

Protocol as modelled: 200 with the subject JSON (unknown extra fields included, as ARES sends many);
404 ``{"kod": "NENALEZENO", …}`` for an unknown IČO; 400 ``{"kod": "CHYBA_VSTUPU", …}`` when the IČO is not
exactly 8 digits (ARES wants it zero-padded). An 8-digit IČO with a wrong check digit gets 404: whether ARES
checks the digit itself is not documented.

The companies are fictional (names, people, IČOs with valid check digits); the streets are real.
Faults are injected through ``SimulatorControl`` (``app[CONTROL]``): each queued fault answers one request.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from aiohttp import web

SUBJECT_ROUTE: Final = "/ekonomicke-subjekty-v-be/rest/ekonomicke-subjekty/{ico}"
#: Queued faults at most; a test that needs more is looping by mistake.
FAULTS_MAX: Final = 1_000
#: Longest injected delay; enough to outlast any client timeout proud configures in tests or the demo.
DELAY_S_MAX: Final = 120.0

JSON_TYPE: Final = "application/json"


def _sidlo(
    street: str, domovni: int, orientacni: int, part: str, city: str, psc: int, kraj: str
) -> dict[str, Any]:
    return {
        "kodStatu": "CZ",
        "nazevStatu": "Česká republika",
        "nazevKraje": kraj,
        "nazevObce": city,
        "nazevCastiObce": part,
        "nazevUlice": street,
        "cisloDomovni": domovni,
        "cisloOrientacni": orientacni,
        "psc": psc,
        "textovaAdresa": f"{street} {domovni}/{orientacni}, {part}, {psc} {city}",
    }


def _subject(
    ico: str, name: str, form: str, sidlo: dict[str, Any], founded: str, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "ico": ico,
        "obchodniJmeno": name,
        "sidlo": sidlo,
        "pravniForma": form,
        "financniUrad": "451",
        "datumVzniku": founded,
        "datumAktualizace": "2024-11-05",
        "czNace": ["35140", "35230"],
        "icoId": ico,
    }
    # Legal persons carry DIČ = "CZ" + IČO; the sole trader below is not a VAT payer and has none.
    if form != "101":
        body["dic"] = f"CZ{ico}"
    body.update(extra)
    return body


#: IČO → ARES JSON of the demo subjects (Praha, Brno, Ostrava; s.r.o., a.s., fyzická osoba podnikající).
DEMO_SUBJECTS: Final[Mapping[str, Mapping[str, Any]]] = {
    "28741137": _subject(
        "28741137", "Vltavská energie s.r.o.", "112",
        _sidlo("Vinohradská", 1511, 230, "Strašnice", "Praha", 10000, "Hlavní město Praha"), "2009-04-14",
    ),
    "26619385": _subject(
        "26619385", "Moravské teplárny Brno a.s.", "121",
        _sidlo("Kounicova", 284, 39, "Veveří", "Brno", 60200, "Jihomoravský kraj"), "2002-09-01",
    ),
    "07162804": _subject(
        "07162804", "Jana Dvořáková", "101",
        _sidlo("Nádražní", 3112, 112, "Moravská Ostrava", "Ostrava", 70200, "Moravskoslezský kraj"),
        "2018-06-01",
    ),
    "02345676": _subject(
        "02345676", "Ostravská plynárenská služba s.r.o.", "112",
        _sidlo("28. října", 3346, 91, "Moravská Ostrava", "Ostrava", 70200, "Moravskoslezský kraj"),
        "2013-10-22",
    ),
    "29531055": _subject(
        "29531055", "Solární park Líšeň s.r.o. v likvidaci", "112",
        _sidlo("Jedovnická", 2346, 8, "Líšeň", "Brno", 62800, "Jihomoravský kraj"), "2011-01-03",
        datumZaniku="2023-12-31",
    ),
}


@dataclass(frozen=True, slots=True)
class Fault:
    """One injected answer: a status (with the ARES error body), a delay before answering, or a raw body."""

    status: int | None = None
    delay_s: float = 0.0
    body: bytes | None = None


@dataclass(slots=True)
class SimulatorControl:
    """Test handle: queue faults, read which IČOs were asked for."""

    faults: deque[Fault] = field(default_factory=deque)
    requested: list[str] = field(default_factory=list)

    def _queue(self, fault: Fault, count: int) -> None:
        assert count >= 1 and len(self.faults) + count <= FAULTS_MAX, count
        self.faults.extend([fault] * count)

    def fail_next(self, count: int, status: int = 503) -> None:
        """The next ``count`` requests answer ``status`` with an ARES error body."""
        assert 400 <= status <= 599, status
        self._queue(Fault(status=status), count)

    def delay_next(self, count: int, delay_s: float) -> None:
        """The next ``count`` requests answer correctly, but only after ``delay_s`` (to outlast a timeout)."""
        assert 0 < delay_s <= DELAY_S_MAX, delay_s
        self._queue(Fault(delay_s=delay_s), count)

    def malformed_next(self, count: int, body: bytes = b'{"ico": "2874', status: int = 200) -> None:
        """The next ``count`` requests answer ``status`` with ``body`` as is (truncated JSON by default)."""
        self._queue(Fault(status=status, body=body), count)

    def clear(self) -> None:
        self.faults.clear()
        self.requested.clear()


CONTROL: Final = web.AppKey("ares_control", SimulatorControl)
SUBJECTS: Final = web.AppKey("ares_subjects", dict[str, Mapping[str, Any]])


def _error(status: int, kod: str, sub_kod: str, popis: str) -> web.Response:
    body = json.dumps({"kod": kod, "popis": popis, "subKod": sub_kod}, ensure_ascii=False)
    return web.Response(status=status, text=body, content_type=JSON_TYPE)


def _fault_response(fault: Fault) -> web.Response | None:
    if fault.body is not None:
        assert fault.status is not None
        return web.Response(status=fault.status, body=fault.body, content_type=JSON_TYPE)
    if fault.status is not None:
        # The server-error codes are modelled; ARES's own are not documented.
        return _error(fault.status, "CHYBA_SYSTEMU", "SYSTEMOVA_CHYBA", "Simulovaná chyba serveru.")
    return None


async def _subject_handler(request: web.Request) -> web.Response:
    control = request.app[CONTROL]
    ico = request.match_info["ico"]
    control.requested.append(ico)
    if control.faults:
        fault = control.faults.popleft()
        if fault.delay_s:
            await asyncio.sleep(fault.delay_s)
        response = _fault_response(fault)
        if response is not None:
            return response
    if not (ico.isascii() and ico.isdigit() and len(ico) == 8):
        return _error(400, "CHYBA_VSTUPU", "VSTUP_NEVALIDNI_FORMAT_ICO", "Nevalidní formát IČO.")
    subject = request.app[SUBJECTS].get(ico)
    if subject is None:
        return _error(404, "NENALEZENO", "VYSTUP_SUBJEKT_NENALEZEN", "Ekonomický subjekt nenalezen.")
    return web.Response(text=json.dumps(subject, ensure_ascii=False), content_type=JSON_TYPE)


def create_simulator_app(subjects: Mapping[str, Mapping[str, Any]] = DEMO_SUBJECTS) -> web.Application:
    """The simulator application; ``app[CONTROL]`` injects faults and records requests."""
    assert all(len(ico) == 8 and ico.isdigit() for ico in subjects), "subject keys are 8-digit IČOs"
    app = web.Application()
    app[CONTROL] = SimulatorControl()
    app[SUBJECTS] = dict(subjects)
    app.router.add_get(SUBJECT_ROUTE, _subject_handler)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m connectors.ares.simulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    web.run_app(create_simulator_app(), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
