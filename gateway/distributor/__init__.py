"""The distributor role: this install also acts as the distribution system operator (DSO) of some OPMs.

Active only when the setting ``distributor_ean`` is set. Two duties towards CS OTE (``docs/distributor.md``):

- ``registration``: an OPM of ours created, or its technical data changed, is registered in CS OTE
  (electricity message code 111 with the distribution rate) by a consumer of ``masterdata.opm``;
- ``report``: ``proud distributor report --month YYYY-MM`` sends each OPM's metered data for a month
  (CDSDATA for electricity, CDSGASPOF for gas), once per OPM and month.

Both emit ``ote.send`` on ``ote.outbound`` keyed by the OPM code; the OTE sender delivers it.
"""
