"""New, duplicate or correction: the decision for each reading of a batch, pure (no database).

The store loads the readings in force for the batch's keys (meter and period) and hands them in with the
ids it drew; readings are decided in order, each against what is in force *after* the ones before it, so a
batch with the same meter and period twice decides as two batches would.

* nothing in force for the key → **new**;
* the same values again (equal fingerprint) → **duplicate** of the reading in force (no register rows; the
  reading in force stays);
* other values → **correction**: it ``corrects`` the reading in force, which is ``superseded_by`` it;
* gas: a document that corrects (segment COR, a ``corReason``) or a higher version of the same ``pofId``
  → **correction**, even with equal values, because the DSO replaced the document; the same document again
  (same ``pofId`` and version, equal values) → duplicate. A *lower* version of the same ``pofId`` than the
  one in force arrived late: it is refused (``HandlerRejected``), never filed over the newer one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from gateway.errors import HandlerRejected
from gateway.readings.model import GasDocument
from gateway.readings.prepare import Key
from schemas.readings import ReadingStatus


@dataclass(frozen=True, slots=True)
class InForce:
    """A stored reading in force for its key, as the store loads it."""

    id: int
    fingerprint: bytes
    document: GasDocument | None = None


@dataclass(slots=True)
class Decision:
    id: int
    status: ReadingStatus
    corrects: int | None = None
    duplicate_of: int | None = None
    #: Set when a later reading of the same batch corrects this one.
    superseded_by: int | None = None


@dataclass(slots=True)
class Plan:
    decisions: list[Decision] = field(default_factory=list)
    #: Stored readings (not of this batch) superseded by a reading of it: stored id → new id.
    superseded: dict[int, int] = field(default_factory=dict)


def _status(
    key: Key, fingerprint: bytes, document: GasDocument | None, in_force: InForce | None
) -> ReadingStatus:
    if in_force is None:
        return "new"
    stored = in_force.document
    if document is not None and stored is not None and document.pof_id == stored.pof_id:
        if document.version < stored.version:
            raise HandlerRejected(
                f"GP6 pofId {document.pof_id!r} version {document.version} arrived after version "
                f"{stored.version} (reading {in_force.id}, {key[0]} {key[2]}); "
                "an older version is not filed over a newer one"
            )
        if document.version > stored.version or (document.corrective and not stored.corrective):
            return "correction"
    elif document is not None and document.corrective:
        return "correction"
    # The same document again (or electricity): the values decide.
    return "duplicate" if fingerprint == in_force.fingerprint else "correction"


def classify(
    keys: Sequence[Key], fingerprints: Sequence[bytes], documents: Sequence[GasDocument | None],
    ids: Sequence[int], stored: Mapping[Key, InForce],
) -> Plan:
    """The decision for each reading (given by its key, fingerprint and document), in order; ``ids`` are the
    new readings' ids, one each; ``stored`` the readings in force for the keys that have one."""
    assert len(keys) == len(fingerprints) == len(documents) == len(ids)
    plan = Plan()
    in_force: dict[Key, InForce] = dict(stored)
    # Keys whose reading in force is one of this batch: its index in ``plan.decisions``.
    batch_index: dict[Key, int] = {}
    for index, (key, reading_id) in enumerate(zip(keys, ids, strict=True)):
        previous = in_force.get(key)
        status = _status(key, fingerprints[index], documents[index], previous)
        decision = Decision(reading_id, status)
        if status == "duplicate":
            assert previous is not None
            decision.duplicate_of = previous.id
        else:
            if status == "correction":
                assert previous is not None
                decision.corrects = previous.id
                earlier = batch_index.get(key)
                if earlier is None:
                    plan.superseded[previous.id] = reading_id
                else:
                    plan.decisions[earlier].superseded_by = reading_id
            in_force[key] = InForce(reading_id, fingerprints[index], documents[index])
            batch_index[key] = index
        plan.decisions.append(decision)
    assert len(plan.decisions) == len(keys)
    return plan
