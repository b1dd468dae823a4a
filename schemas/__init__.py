"""Message schemas: the bus envelope, msgspec payload structs (one file per message family), partner XSDs."""
