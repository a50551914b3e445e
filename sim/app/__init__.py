"""The advisor's workbench: a local web application (``childsim app``).

An interface over the experiments, like the command line: choose a reform and policy
levers (:mod:`sim.app.choices`), run it against the baseline with common random numbers in
a process of its own, with progress and a cancel button (:mod:`sim.app.jobs`,
:mod:`sim.app.worker`), see what moved (:mod:`sim.app.views`) and take the report, the
scenario file and the results away. The page is served by Shiny for Python
(:mod:`sim.app.server`), on this machine only unless told otherwise.
"""
