import Testing

@Test func breakGlassSourcesPlaceholder() {}
