// BreakGlassConsole: see the module's primary types.
