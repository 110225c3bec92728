"""Replay: a history of cases determined under two knowledge-base versions, on a Dask cluster.

``sources`` streams the cases (a folder, JSON Lines, Parquet or the determination store);
``answers`` determines one case on a worker; ``partition`` replays a batch of them and keeps
only what changed; ``summary`` adds the batches up; ``output`` writes the Parquet tables and
``render`` the committee's summary; ``cluster`` runs it all on Dask; ``command`` is the CLI.
"""
