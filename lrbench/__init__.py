"""The application on top of the layers: the `lrbench` console script (demo, fit, list, report, gate).
Nothing below it imports it."""
