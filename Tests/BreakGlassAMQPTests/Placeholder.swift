import Testing

@Test func breakGlassAMQPPlaceholder() {}
