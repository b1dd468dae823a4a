"""Master-data structs: what the REST API and ``proud import masterdata`` accept and return, and the
``masterdata.*`` change events. One module per business object; ``common`` holds what they share."""
