// BreakGlassAMQP: see the module's primary types.
