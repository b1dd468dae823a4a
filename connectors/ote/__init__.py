"""OTE connector (CS OTE / CDS market communication). So far: the pure codec in ``codec``.

Transport (SOAP, S/MIME mailbox, callback), simulator and the switch processes are later parts of issue 5.
"""
