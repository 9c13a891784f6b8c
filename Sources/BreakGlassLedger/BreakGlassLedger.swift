// BreakGlassLedger: see the module's primary types.
