"""Word lists of ``fake``: Czech names, cities with their PSČ, streets, banks, products.

Written by hand (no data set is loaded): each city's PSČ is the one of its main post office, so a generated
address is one a Czech reader would believe. Female surnames are listed beside the male ones because the
-ová form is not always the male form plus a suffix (Němec → Němcová, Vaněk → Vaňková, Novotný → Novotná).
"""

from __future__ import annotations

from typing import Final

MALE_FIRST_NAMES: Final = (
    "Jiří", "Jan", "Petr", "Josef", "Pavel", "Martin", "Tomáš", "Jaroslav", "Miroslav", "Zdeněk",
    "Václav", "Michal", "František", "Jakub", "Milan", "Karel", "Lukáš", "David", "Ondřej", "Vladimír",
    "Ladislav", "Roman", "Stanislav", "Daniel", "Radek", "Marek", "Antonín", "Vojtěch", "Filip", "Adam",
)
FEMALE_FIRST_NAMES: Final = (
    "Jana", "Marie", "Eva", "Hana", "Anna", "Lenka", "Kateřina", "Věra", "Lucie", "Alena",
    "Petra", "Jaroslava", "Veronika", "Martina", "Jitka", "Tereza", "Ludmila", "Helena", "Michaela", "Zdeňka",
    "Ivana", "Jarmila", "Monika", "Zuzana", "Barbora", "Markéta", "Eliška", "Klára", "Kristýna", "Simona",
)
#: (male, female) surname pairs, the female form written out.
SURNAMES: Final = (
    ("Novák", "Nováková"), ("Svoboda", "Svobodová"), ("Novotný", "Novotná"), ("Dvořák", "Dvořáková"),
    ("Černý", "Černá"), ("Procházka", "Procházková"), ("Kučera", "Kučerová"), ("Veselý", "Veselá"),
    ("Horák", "Horáková"), ("Němec", "Němcová"), ("Marek", "Marková"), ("Pospíšil", "Pospíšilová"),
    ("Pokorný", "Pokorná"), ("Hájek", "Hájková"), ("Král", "Králová"), ("Jelínek", "Jelínková"),
    ("Růžička", "Růžičková"), ("Beneš", "Benešová"), ("Fiala", "Fialová"), ("Sedláček", "Sedláčková"),
    ("Doležal", "Doležalová"), ("Zeman", "Zemanová"), ("Kolář", "Kolářová"), ("Navrátil", "Navrátilová"),
    ("Čermák", "Čermáková"), ("Vaněk", "Vaňková"), ("Urban", "Urbanová"), ("Blažek", "Blažková"),
    ("Kříž", "Křížová"), ("Kovář", "Kovářová"), ("Bartoš", "Bartošová"), ("Vlček", "Vlčková"),
    ("Polák", "Poláková"), ("Musil", "Musilová"), ("Kopecký", "Kopecká"), ("Šimek", "Šimková"),
    ("Konečný", "Konečná"), ("Malý", "Malá"), ("Holub", "Holubová"), ("Čech", "Čechová"),
    ("Štěpánek", "Štěpánková"), ("Kadlec", "Kadlecová"), ("Staněk", "Staňková"), ("Dostál", "Dostálová"),
    ("Soukup", "Soukupová"), ("Šťastný", "Šťastná"), ("Mareš", "Marešová"), ("Moravec", "Moravcová"),
    ("Sýkora", "Sýkorová"), ("Tichý", "Tichá"), ("Valenta", "Valentová"), ("Vávra", "Vávrová"),
    ("Bláha", "Bláhová"), ("Říha", "Říhová"), ("Ševčík", "Ševčíková"), ("Hruška", "Hrušková"),
)
#: (city, PSČ of its main post office, DSO of electricity, DSO of gas) for ~40 Czech cities.
CITIES: Final = (
    ("Praha", "11000", "PREdistribuce, a.s.", "Pražská plynárenská Distribuce, a.s."),
    ("Brno", "60200", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Ostrava", "70200", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Plzeň", "30100", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Liberec", "46001", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Olomouc", "77900", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("České Budějovice", "37001", "EG.D, a.s.", "EG.D, a.s."),
    ("Hradec Králové", "50002", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Ústí nad Labem", "40001", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Pardubice", "53002", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Zlín", "76001", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Havířov", "73601", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Kladno", "27201", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Most", "43401", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Opava", "74601", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Frýdek-Místek", "73801", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Karviná", "73301", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Jihlava", "58601", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Teplice", "41501", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Děčín", "40502", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Karlovy Vary", "36001", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Chomutov", "43001", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Jablonec nad Nisou", "46601", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Mladá Boleslav", "29301", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Prostějov", "79601", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Přerov", "75002", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Česká Lípa", "47001", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Třebíč", "67401", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Třinec", "73961", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Tábor", "39002", "EG.D, a.s.", "EG.D, a.s."),
    ("Znojmo", "66902", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Příbram", "26101", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Cheb", "35002", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Kolín", "28002", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Trutnov", "54101", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Písek", "39701", "EG.D, a.s.", "EG.D, a.s."),
    ("Kroměříž", "76701", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Šumperk", "78701", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Vsetín", "75501", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Uherské Hradiště", "68601", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Hodonín", "69501", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Břeclav", "69002", "EG.D, a.s.", "GasNet Služby, s.r.o."),
    ("Kutná Hora", "28401", "ČEZ Distribuce, a.s.", "GasNet Služby, s.r.o."),
    ("Jindřichův Hradec", "37701", "EG.D, a.s.", "EG.D, a.s."),
)
STREETS: Final = (
    "Masarykova", "Husova", "Palackého", "Nádražní", "Školní", "Zahradní", "Komenského", "Jiráskova",
    "Tyršova", "Havlíčkova", "Smetanova", "Nerudova", "Dvořákova", "Sokolská", "Lidická", "Polní", "Luční",
    "Krátká", "Dlouhá", "Revoluční", "Žižkova", "Riegrova", "Purkyňova", "Bezručova", "Vrchlického",
    "Československé armády", "Na Výsluní", "U Potoka", "Lesní", "Sadová", "Tovární", "Pražská",
    "Jungmannova", "Fügnerova", "Nová", "Zámecká", "Mírová", "28. října", "17. listopadu", "Družstevní",
)
#: ČNB bank codes of large retail banks (all in the register python-stdnum ships).
BANK_CODES: Final = ("0100", "0300", "0800", "2010", "0600", "5500", "2700", "3030", "6210")
#: Company name stems; the owner's surname or a trade is put before them.
COMPANY_TRADES: Final = (
    "Pekárna", "Autoservis", "Stavby", "Truhlářství", "Elektro", "Zahradnictví", "Účetnictví", "Tiskárna",
    "Kovovýroba", "Penzion", "Kavárna", "Instalatérství", "Doprava", "Reality", "Software",
)
#: (legal form as ARES names it, suffix in the company name).
LEGAL_FORMS: Final = (
    ("Společnost s ručením omezeným", "s.r.o."), ("Akciová společnost", "a.s."),
    ("Veřejná obchodní společnost", "v.o.s."),
)
PRODUCTS_ELECTRICITY: Final = ("Elektřina Standard", "Elektřina Fix 24", "Elektřina Fix 36", "Elektřina Spot")
PRODUCTS_GAS: Final = ("Plyn Standard", "Plyn Fix 24", "Plyn Fix 36")
EMAIL_DOMAINS: Final = ("seznam.cz", "email.cz", "gmail.com", "centrum.cz", "post.cz", "volny.cz")
