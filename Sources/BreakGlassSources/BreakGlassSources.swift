// BreakGlassSources: see the module's primary types.
