"""What a run leaves behind and how it is read: KPIs, statistics, result files, figures,
the HTML report.

Everything here reads records (the journey log and monthly stocks, :mod:`sim.records`)
and result directories; nothing here runs the model. :mod:`~sim.outputs.kpis` defines
every KPI from records, :mod:`~sim.outputs.statistics` summarises replications,
:mod:`~sim.outputs.files` writes and reads result directories atomically,
:mod:`~sim.outputs.figures` draws, :mod:`~sim.outputs.report` renders the report from its
templates.
"""
