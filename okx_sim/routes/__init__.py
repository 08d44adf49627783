"""The simulator's OKX endpoints, one module per area of OKX's documentation.

Each module holds a mixin of handlers named as the endpoint table's rows
(``okx_wire.endpoints``); ``okx_sim.server.SimApp`` composes them and routes row ``name`` to the
method of that name. A handler takes the parsed ``Request`` and returns ``(status, payload)`` or
ready-rendered bytes; it raises ``SimError`` for a whole-request refusal.
"""
