"""okx_tasks: the Prefect layer over ``okx_wire`` -- tasks, the ``OkxCredentials`` block, artifacts
and the retry policy. The only package besides ``flows`` that imports Prefect."""
