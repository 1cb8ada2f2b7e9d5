"""The report generator: asv results JSON in, one self-contained HTML page (and its PNG figures) out.

    python -m reports [RESULTS] [--baseline RESULTS] [--out reports/out]
"""
