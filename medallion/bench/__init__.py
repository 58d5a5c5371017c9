"""`medallion bench`: how far the pipeline is from DuckDB alone, in time and memory, by size.

Speed and memory are features: every change is judged against the floor (DuckDB loading the
same landing files with no framework), size after size, each stage in its own process.
"""
