"""Real parts that the tests and the benchmarks start and stop: a throwaway PostgreSQL server, the
Docker image and its code server container, the Dagster webserver and daemon with a small GraphQL
client, and the process-group bookkeeping that proves nothing outlives them.

Both `gmpsai_assets_tests` and `benchmarks` import it (docs/design.md's layer table); it imports
only the package and third-party libraries, never pytest, so a benchmark can use it as it is. Not
shipped in the wheel: it is for a clone of the repository.
"""
