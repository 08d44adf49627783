"""okx_reports: figures a trader reads -- money, prices and sizes rendered with their units, and
charts as PNG -- for the run reports, the account view and ``okx-flows report``.

Pure rendering over ``okx_wire`` models and plain numbers: no Prefect, no I/O. matplotlib is
imported only when a chart is drawn (about 0.3 s), so a run that draws none pays nothing.
"""
