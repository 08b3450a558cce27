"""Safeguarding: concerns about a child's safety, raised by any member of a school's staff and
read, on a need-to-know basis, by its designated safeguarding leads (DSLs) and the trust's."""
