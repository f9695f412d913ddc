"""The cryptographic core: pure code, no I/O beyond streams it is handed."""
