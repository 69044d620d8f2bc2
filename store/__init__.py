"""The write side's storage: the pool and migrations (db), the event store,
the read-model projections (projections/), and the tables beside the log
(payload keys, the directory, the intake queue, sealed message contents).
Imports domain/ only, never activities/, workflows/ or web/."""
