"""The file catalogue: checksums and MetaCat/Rucio declarations of every published data file."""
