// BreakGlassSimulator: see the module's primary types.
