"""Where instances come from besides planners' files: a generator of plausible coalitions and an
importer of published generalised-assignment benchmarks."""
