"""The `cohort` tooling: the command line, the launcher of the whole system, and operations
(migrate, seed) over every service of the registry. Not a service itself."""
