"""aimass.serve: the KServe v2 / Triton inference server (issue 11).

Placeholder: the integrator owns this module's public surface.
"""
