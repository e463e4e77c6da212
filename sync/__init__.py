"""The federation protocol as a library: keys, envelopes, disclosure, Merkle log.

Pure and database-free: no web framework, no database, no ``node``/``central``
imports. Time is always injected (:mod:`sync.clock`).
"""
