"""Signal execution: authenticated alerts in, one order out (``docs/signals.md``).

``auth`` checks a request's signature or token and its age; ``executor`` holds each spec's warm
client and runs every accepted signal as a Prefect task run of a resident executor flow run;
``receiver`` is the HTTP side (a small ASGI app under uvicorn) that hands signals to it, or, for
the durable path, emits the Prefect event a deployment trigger turns into a run of
``flows/signal.py``.
"""
