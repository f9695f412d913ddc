"""`hub witness`: a small service another party runs (another county board, the national
coordination, a municipality's IT) that cosigns a network's directory log only where it extends
what it cosigned before (c2sp.org/tlog-witness; docs/protocol.md §12.8)."""
