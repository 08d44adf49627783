"""OKX's WebSocket API: public, business and private streams, and order entry over WebSocket.

``protocol`` is the surface as data (URLs, channels, ops), shared with the simulator; ``books``
the local order book and its checksum; ``connection`` one self-healing socket (keep-alive,
reconnect with backoff, login, resubscribe); ``streams`` what callers use: ``MarketStream``
(tickers, books, trades, candles) and ``OrderStream`` (order and balance pushes, order entry,
and waiting for orders to become final with REST as the fallback).
"""
