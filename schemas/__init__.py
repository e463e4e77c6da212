"""What every part of minefed agrees on: forms, enumerations, identifier checks.

Pure: pydantic models and functions, no database, no web, no I/O beyond reading
the shipped division table (``schemas/data/gbt2260.tsv``).

Modules: :mod:`schemas.errors` (bilingual rule errors), :mod:`schemas.enums`,
:mod:`schemas.identifiers` (USCC, organisation code, resident ID, phones,
masking), :mod:`schemas.divisions` (GB/T 2260), :mod:`schemas.accidents`
(grade), :mod:`schemas.clock` (injectable ``now``), :mod:`schemas.forms`.
"""
