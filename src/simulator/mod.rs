//! A local stand-in for the Wutt API, for tests, benchmarks, the demo and rehearsals.
