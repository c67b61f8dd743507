"""The solution: a plan (tours of units, leads, shortfalls), the result of a solve with its
levels, and the tables that summarise a plan for people (``docs/solution-format.md``)."""
