"""LTI 1.3: the protocol side of Circolo, free of Flask views where possible."""
