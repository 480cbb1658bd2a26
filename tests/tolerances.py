"""Every numerical tolerance the grader uses, in one place.

A test imports the constant it needs (``from tests.tolerances import ...``) instead of writing a
literal, so that loosening or tightening a check is one reviewed edit here. Each constant says what
it bounds and why that bound is right.
"""

# --- metrics ---------------------------------------------------------------------------------

# --- video I/O -------------------------------------------------------------------------------

# --- datasets --------------------------------------------------------------------------------

# --- synthetic benchmark (mini-forensics) ----------------------------------------------------

# --- training loop ---------------------------------------------------------------------------

# --- phase 1 ---------------------------------------------------------------------------------

