"""The MILP backend: the same model as a mixed-integer program through PuLP (CBC, HiGHS)."""
