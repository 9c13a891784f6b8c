import Testing

@Test func breakGlassSimulatorPlaceholder() {}
