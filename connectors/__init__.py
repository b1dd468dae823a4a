"""Partner connectors, one package per partner (ote, bank, post, einvoice, ares).

Each connector is a class with async ``start``/``stop`` whose transport (moving bytes: SOAP/mTLS, SFTP, FTP,
HTTPS) is separate from its pure codec (bytes to msgspec structs and back), so a transport can be swapped
for a simulator or a different channel without touching the codec.
"""
