import Testing

@Test func breakGlassConsolePlaceholder() {}
