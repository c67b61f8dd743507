"""The formulation: every rule's rows written once, solver-neutral, for both formulations.

instance -> :class:`~allocator.formulation.structure.Structure` (columns: tours, or flow cells)
-> :func:`~allocator.formulation.build.formulate` (variables, rows of each rule in
:mod:`~allocator.formulation.rules`, objectives) -> a :class:`~allocator.formulation.linear.LinearModel`
that each backend translates.
"""
