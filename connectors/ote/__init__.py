"""OTE connector (CS OTE / CDS market communication): the pure codec (``codec``), SOAP transport and callback.

``OteConnector`` (``connector``) owns both directions; the S/MIME mailbox, the simulator and the switch
processes are later parts of issue 5.
"""
