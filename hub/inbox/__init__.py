"""`hub inbox`: the contact person's local inbox agent, on 127.0.0.1, holding the keys."""
