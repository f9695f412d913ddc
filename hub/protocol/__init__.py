"""The protocol core: pure rules both programs share (the case lifecycle, sign-in bytes).

Nothing here does I/O or reads a clock: times are arguments, and the server and the inbox call
these modules, never the other way round.
"""
