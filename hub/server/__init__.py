"""`hub serve`: the central hub. It routes envelopes it cannot read (docs/api.md)."""
