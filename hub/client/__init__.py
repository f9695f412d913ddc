"""The hub's API as a client sees it. Used by `hub admin`, `hub enrol`, the local inbox agent
and the tests. It verifies what it can itself (the directory against the pinned administrator
key) and never takes the hub's word for a key."""
