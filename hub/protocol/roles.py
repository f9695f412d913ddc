"""The roles an account signs in with: the directory's three (hub.crypto.directory.Role, a key
listed by the county administrator) and the county administrator's own, who signs in with the
network key. One enum wherever the hub names who may do what; a request's lifecycle has roles
of its own (hub.protocol.lifecycle.Role: sender, receiver, system)."""

from __future__ import annotations

import enum

from hub.crypto.directory import Role


class AccountRole(enum.StrEnum):
    CONTACT_PERSON = Role.CONTACT_PERSON.value
    COUNTY_BOARD = Role.COUNTY_BOARD.value
    COORDINATOR = Role.COORDINATOR.value
    COUNTY_ADMIN = "county_admin"

    @classmethod
    def of(cls, role: Role) -> AccountRole:
        """The account role of a directory entry's role."""
        return cls(role.value)
